import type { Database } from './database.ts';
import type { ProviderStateFile } from './state-sqlite.ts';
import type { Logger } from '../log.ts';

// Stays in PGlite's table: the upstream-login and WebAuthn attempts (src/federation/attempt-store.ts).
const KEPT_IN_DATABASE = ['FederationAttempt'];
const BATCH = 500;

interface OldRow {
  model: string;
  id: string;
  payload: string;
  grant_id: string | null;
  account_id: string | null;
  uid: string | null;
  user_code: string | null;
  expires_ms: string | null;
  consumed_ms: string | null;
}

const INSERT = `INSERT OR IGNORE INTO oidc_payloads (model, id, payload, grant_id, account_id, uid, user_code, expires_at, consumed_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/**
 * Before provider state moved to the SQLite file, an embedded install kept it in PGlite's
 * oidc_payloads, and its rate-limit counters in rate_limits. Once, at the first start of this
 * version, the live rows move over, so nobody is signed out by the upgrade: each batch is copied (never over a row the file already has,
 * which may be newer), then deleted from PGlite. A start that stops midway moves the rest next
 * time. Returns how many rows moved.
 */
export async function importEmbeddedState(db: Database, file: ProviderStateFile, logger: Pick<Logger, 'info'>): Promise<number> {
  let moved = 0;
  for (;;) {
    const { rows } = await db.query<OldRow>(
      `SELECT model, id, payload::text AS payload, grant_id, account_id, uid, user_code,
              (extract(epoch FROM expires_at) * 1000)::bigint::text AS expires_ms,
              (extract(epoch FROM consumed_at) * 1000)::bigint::text AS consumed_ms
       FROM oidc_payloads
       WHERE NOT (model = ANY ($1::text[])) AND (expires_at IS NULL OR expires_at > now())
       ORDER BY model, id LIMIT $2`,
      [KEPT_IN_DATABASE, BATCH],
    );
    if (rows.length === 0) break;
    await file.write(() => {
      const insert = file.statement(INSERT);
      for (const row of rows) {
        insert.run(row.model, row.id, row.payload, row.grant_id, row.account_id, row.uid, row.user_code,
          row.expires_ms === null ? null : Number(row.expires_ms), row.consumed_ms === null ? null : Number(row.consumed_ms));
      }
    });
    await db.query(
      'DELETE FROM oidc_payloads WHERE (model, id) IN (SELECT * FROM unnest($1::text[], $2::text[]))',
      [rows.map((row) => row.model), rows.map((row) => row.id)],
    );
    moved += rows.length;
  }
  // What is left besides the attempts has expired: nothing reads it any more.
  await db.query('DELETE FROM oidc_payloads WHERE NOT (model = ANY ($1::text[]))', [KEPT_IN_DATABASE]);
  const counters = await importRateLimits(db, file);
  if (moved + counters > 0) logger.info({ moved, counters, file: file.path }, 'provider state moved from the embedded database to its SQLite file');
  return moved + counters;
}

const INSERT_COUNTER = 'INSERT OR IGNORE INTO rate_limits (key, points, expire) VALUES (?, ?, ?)';

/**
 * The rate-limit counters moved to the file too: the windows still open come along, so an
 * upgrade lifts no lockout and resets no limit. Same rules: never over a counter the file has.
 */
async function importRateLimits(db: Database, file: ProviderStateFile): Promise<number> {
  let moved = 0;
  for (;;) {
    const { rows } = await db.query<{ key: string; points: number; expire: string }>(
      'SELECT key, points, expire::text AS expire FROM rate_limits WHERE expire > $1 ORDER BY key LIMIT $2',
      [Date.now(), BATCH],
    );
    if (rows.length === 0) break;
    await file.write(() => {
      const insert = file.statement(INSERT_COUNTER);
      for (const row of rows) insert.run(row.key, row.points, Number(row.expire));
    });
    await db.query('DELETE FROM rate_limits WHERE key = ANY ($1::text[])', [rows.map((row) => row.key)]);
    moved += rows.length;
  }
  await db.query('DELETE FROM rate_limits');
  return moved;
}
