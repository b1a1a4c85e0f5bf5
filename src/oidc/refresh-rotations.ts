import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../db/redis-connect.ts';
import { luaScript, runScript } from '../db/redis-scripts.ts';
import type { Database } from '../db/database.ts';
import { UNEXPIRED as UNEXPIRED_SQLITE, type ProviderStateFile } from '../db/state-sqlite.ts';

/**
 * Which request rotates a refresh token, and what it rotated it into, for the grace window
 * (src/oidc/refresh-grace.ts). One record per presented token, keyed by a hash of it:
 *   - `claim` creates the record as pending if there is none (or only an expired one): exactly
 *     one of many concurrent requests, on any instance, gets `true` and goes on to rotate;
 *   - `complete` stores the successor for the grace window once the rotation answered 200;
 *   - `release` removes a pending claim whose request failed, so the token is judged afresh.
 * Each operation touches one key, so Redis Cluster keeps the standalone guarantees.
 */
export interface RefreshRotations {
  claim(key: string, pendingSeconds: number): Promise<boolean>;
  /**
   * Takes over a pending claim that is still exactly `stale` (its claimant's answer never came:
   * it failed while storage was away, or its process died), as claim() would: of many
   * concurrent takeovers of one claim, exactly one gets `true`.
   */
  takeOver(key: string, stale: RotationState, pendingSeconds: number): Promise<boolean>;
  /** The stored state: pending, rotated into `successor`, or null (none, or expired). */
  read(key: string): Promise<RotationState | null>;
  complete(key: string, successor: string, graceSeconds: number, grantId: string | undefined): Promise<void>;
  release(key: string): Promise<void>;
}

export type RotationState = { state: 'pending'; claim: string } | { state: 'rotated'; successor: string };

const MODEL = 'RefreshRotation';
// Each claim is told apart from the next, so a takeover replaces only the claim it found stale.
const pending = () => JSON.stringify({ state: 'pending', claim: randomUUID() });

// KEYS[1]; ARGV: the stale value, the new one, its TTL in seconds.
const TAKE_OVER = luaScript('RotationTakeOver', 1, `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
`);

function parse(stored: string | null): RotationState | null {
  if (stored === null) return null;
  const value = JSON.parse(stored) as RotationState;
  return value.state === 'rotated' || value.state === 'pending' ? value : null;
}

export function createRedisRefreshRotations(redis: RedisClient, prefix: string): RefreshRotations {
  const keyOf = (key: string) => `${prefix}${MODEL}:${key}`;
  return {
    async claim(key, pendingSeconds) {
      return (await redis.set(keyOf(key), pending(), 'EX', pendingSeconds, 'NX')) === 'OK';
    },
    async takeOver(key, stale, pendingSeconds) {
      // The stored text is what claim() wrote, so the state it parsed to serialises back to it.
      return (await runScript(redis, TAKE_OVER, keyOf(key), JSON.stringify(stale), pending(), pendingSeconds)) === 1;
    },
    read: async (key) => parse(await redis.get(keyOf(key))),
    async complete(key, successor, graceSeconds) {
      // XX: a claim that expired meanwhile stays gone rather than coming back as a rotation.
      await redis.set(keyOf(key), JSON.stringify({ state: 'rotated', successor }), 'EX', graceSeconds, 'XX');
    },
    async release(key) {
      await redis.del(keyOf(key));
    },
  };
}

const UNEXPIRED = '(expires_at IS NULL OR expires_at > now())';

/**
 * In oidc_payloads beside the provider's state. A completed record carries the grant id, so
 * revoking the grant (a replay, a sign-out, an account reset) removes it with everything else.
 */
export function createSqlRefreshRotations(db: Database): RefreshRotations {
  return {
    async claim(key, pendingSeconds) {
      // Of concurrent inserts one wins; the others meet the conflict and take the row over only
      // when it has expired, so exactly one claim holds at a time.
      const { rowCount } = await db.query(
        `INSERT INTO oidc_payloads (model, id, payload, expires_at)
         VALUES ($1, $2, $3::jsonb, now() + make_interval(secs => $4::double precision))
         ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, expires_at = excluded.expires_at, grant_id = NULL
         WHERE oidc_payloads.expires_at <= now()
         RETURNING id`,
        [MODEL, key, pending(), pendingSeconds],
        { name: 'refresh_rotation_claim' },
      );
      return rowCount === 1;
    },
    async takeOver(key, stale, pendingSeconds) {
      if (stale.state !== 'pending') return false;
      // The claim id names the one stale claim; of concurrent updates only the first still matches.
      const { rowCount } = await db.query(
        `UPDATE oidc_payloads SET payload = $3::jsonb, expires_at = now() + make_interval(secs => $4::double precision)
         WHERE model = $1 AND id = $2 AND payload->>'state' = 'pending' AND payload->>'claim' = $5 AND ${UNEXPIRED}`,
        [MODEL, key, pending(), pendingSeconds, stale.claim],
        { name: 'refresh_rotation_take_over' },
      );
      return rowCount === 1;
    },
    async read(key) {
      const { rows } = await db.query<{ payload: RotationState }>(
        `SELECT payload FROM oidc_payloads WHERE model = $1 AND id = $2 AND ${UNEXPIRED}`,
        [MODEL, key],
        { name: 'refresh_rotation_read' },
      );
      return rows[0] ? parse(JSON.stringify(rows[0].payload)) : null;
    },
    async complete(key, successor, graceSeconds, grantId) {
      await db.query(
        `UPDATE oidc_payloads SET payload = $3::jsonb, grant_id = $5,
           expires_at = now() + make_interval(secs => $4::double precision)
         WHERE model = $1 AND id = $2 AND ${UNEXPIRED}`,
        [MODEL, key, JSON.stringify({ state: 'rotated', successor }), graceSeconds, grantId ?? null],
        { name: 'refresh_rotation_complete' },
      );
    },
    async release(key) {
      await db.query('DELETE FROM oidc_payloads WHERE model = $1 AND id = $2', [MODEL, key], { name: 'refresh_rotation_release' });
    },
  };
}

const CLAIM_SQLITE = `
INSERT INTO oidc_payloads (model, id, payload, expires_at) VALUES (?, ?, ?, ?)
ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, expires_at = excluded.expires_at, grant_id = NULL
WHERE oidc_payloads.expires_at <= ?`;
const TAKE_OVER_SQLITE = `
UPDATE oidc_payloads SET payload = ?, expires_at = ?
WHERE model = ? AND id = ? AND json_extract(payload, '$.state') = 'pending' AND json_extract(payload, '$.claim') = ? AND ${UNEXPIRED_SQLITE}`;
const READ_SQLITE = `SELECT payload FROM oidc_payloads WHERE model = ? AND id = ? AND ${UNEXPIRED_SQLITE}`;
const COMPLETE_SQLITE = `UPDATE oidc_payloads SET payload = ?, grant_id = ?, expires_at = ? WHERE model = ? AND id = ? AND ${UNEXPIRED_SQLITE}`;
const RELEASE_SQLITE = 'DELETE FROM oidc_payloads WHERE model = ? AND id = ?';

/**
 * In the embedded mode's provider state file (src/db/state-sqlite.ts), as createSqlRefreshRotations
 * keeps them in PostgreSQL: a completed record carries the grant id, so revoking the grant
 * removes it with everything else. Each write runs at once under the file's write lock, so of
 * concurrent claims or takeovers, in this process or another, exactly one changes the row.
 */
export function createSqliteRefreshRotations(file: ProviderStateFile): RefreshRotations {
  const until = (now: number, seconds: number) => Math.round(now + seconds * 1000);
  return {
    async claim(key, pendingSeconds) {
      const now = Date.now();
      // An existing row is taken over only when it has expired, so exactly one claim holds at a time.
      const changes = await file.write(() => file.statement(CLAIM_SQLITE).run(MODEL, key, pending(), until(now, pendingSeconds), now).changes);
      return Number(changes) === 1;
    },
    async takeOver(key, stale, pendingSeconds) {
      if (stale.state !== 'pending') return false;
      const now = Date.now();
      // The claim id names the one stale claim; of concurrent updates only the first still matches.
      const changes = await file.write(() => file.statement(TAKE_OVER_SQLITE).run(pending(), until(now, pendingSeconds), MODEL, key, stale.claim, now).changes);
      return Number(changes) === 1;
    },
    async read(key) {
      const row = file.statement(READ_SQLITE).get(MODEL, key, Date.now()) as { payload: string } | undefined;
      return row ? parse(row.payload) : null;
    },
    async complete(key, successor, graceSeconds, grantId) {
      const now = Date.now();
      await file.write(() => file.statement(COMPLETE_SQLITE).run(JSON.stringify({ state: 'rotated', successor }), grantId ?? null, until(now, graceSeconds), MODEL, key, now));
    },
    async release(key) {
      await file.write(() => file.statement(RELEASE_SQLITE).run(MODEL, key));
    },
  };
}
