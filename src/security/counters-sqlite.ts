import type { ProviderStateFile } from '../db/state-sqlite.ts';
import type { CounterStore, Tally } from './counters.ts';

/*
 * Embedded mode: the counters in the provider state file's rate_limits table
 * (src/db/state-sqlite.ts), with the rules of counters-sql.ts. A sign-in takes and gives back
 * several points; through PGlite each was a statement costing most of a millisecond of the event
 * loop, here it is a few microseconds. Each change runs at once under the file's write lock, so
 * concurrent adds in this process or another (the CLI) each see their own total, and resolves
 * once its group commit is on disk.
 */

const ADD = `INSERT INTO rate_limits AS counter (key, points, expire) VALUES (?1, ?2, ?3)
  ON CONFLICT (key) DO UPDATE SET
    points = CASE WHEN counter.expire > ?4 THEN counter.points + excluded.points ELSE excluded.points END,
    expire = CASE WHEN counter.expire > ?4 THEN counter.expire ELSE excluded.expire END
  RETURNING points, expire`;

const SET = `INSERT INTO rate_limits (key, points, expire) VALUES (?, ?, ?)
  ON CONFLICT (key) DO UPDATE SET points = excluded.points, expire = excluded.expire`;

const SUBTRACT = 'UPDATE rate_limits SET points = points - ? WHERE key = ? AND expire > ?';
const DELETE = 'DELETE FROM rate_limits WHERE key = ?';

export function createSqliteCounterStore(file: ProviderStateFile): CounterStore {
  return {
    async add(key, points, now, windowMs) {
      const row = await file.write(() => file.statement(ADD).get(key, points, now + windowMs, now) as { points: number; expire: number });
      return { points: row.points, endsAt: row.expire } satisfies Tally;
    },
    async set(key, points, now, windowMs) {
      await file.write(() => file.statement(SET).run(key, points, now + windowMs));
    },
    async subtract(key, points, now) {
      await file.write(() => file.statement(SUBTRACT).run(points, key, now));
    },
    async delete(key) {
      await file.write(() => file.statement(DELETE).run(key));
    },
  };
}
