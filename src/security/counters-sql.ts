import type { Database } from '../db/database.ts';
import type { CounterStore } from './counters.ts';

/*
 * The rate_limits table (migrations/0012): `expire` is the window's end in epoch ms by the app's
 * clock, passed in rather than read from now(), so the decision follows the injected clock.
 * One INSERT … ON CONFLICT … RETURNING is one atomic step (the row is locked for the update),
 * which is what makes a limit hold when many attempts arrive at once. Named statements: a
 * sign-in runs several.
 */

const ADD = `INSERT INTO rate_limits AS counter (key, points, expire) VALUES ($1, $2, $3)
  ON CONFLICT (key) DO UPDATE SET
    points = CASE WHEN counter.expire > $4 THEN counter.points + EXCLUDED.points ELSE EXCLUDED.points END,
    expire = CASE WHEN counter.expire > $4 THEN counter.expire ELSE EXCLUDED.expire END
  RETURNING points, expire`;

const SET = `INSERT INTO rate_limits (key, points, expire) VALUES ($1, $2, $3)
  ON CONFLICT (key) DO UPDATE SET points = EXCLUDED.points, expire = EXCLUDED.expire`;

export function createSqlCounterStore(db: Database): CounterStore {
  return {
    async add(key, points, now, windowMs) {
      const { rows } = await db.query<{ points: number; expire: string }>(ADD, [key, points, now + windowMs, now], { name: 'limit-add' });
      return { points: rows[0]!.points, endsAt: Number(rows[0]!.expire) };
    },
    async set(key, points, now, windowMs) {
      await db.query(SET, [key, points, now + windowMs], { name: 'limit-set' });
    },
    async subtract(key, points, now) {
      await db.query('UPDATE rate_limits SET points = points - $2 WHERE key = $1 AND expire > $3', [key, points, now], { name: 'limit-subtract' });
    },
    async delete(key) {
      await db.query('DELETE FROM rate_limits WHERE key = $1', [key], { name: 'limit-delete' });
    },
  };
}

/** Deletes the rows whose window ended by `now`; returns how many. Only keeps the table small. */
export async function deleteExpiredRateLimits(db: Database, now: number): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM rate_limits WHERE expire IS NOT NULL AND expire < $1', [now]);
  return rowCount;
}
