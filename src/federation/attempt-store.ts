import type { RedisClient } from '../db/redis-connect.ts';
import type { Database } from '../db/database.ts';

/**
 * Short-lived server-side records of sign-in attempts at upstreams (state, nonce, PKCE verifier)
 * and of links waiting for a password. They live where provider state lives (Redis, or the SQL
 * table oidc_payloads) so every instance sees them, and expire with the interaction.
 * `take` reads and deletes in one atomic step: a state can be used once, even by two requests racing.
 */
export interface AttemptStore {
  put(key: string, value: object, ttlSeconds: number): Promise<void>;
  get<T>(key: string): Promise<T | null>;
  take<T>(key: string): Promise<T | null>;
  delete(key: string): Promise<void>;
}

const MODEL = 'FederationAttempt';

/** Every operation touches one key, so this works alike on standalone Redis, Sentinel and Cluster. */
export function createRedisAttemptStore(redis: RedisClient, prefix: string): AttemptStore {
  const keyOf = (key: string) => `${prefix}${MODEL}:${key}`;
  const parse = <T>(stored: string | null): T | null => (stored === null ? null : JSON.parse(stored) as T);
  return {
    async put(key, value, ttlSeconds) {
      await redis.set(keyOf(key), JSON.stringify(value), 'EX', Math.max(1, Math.ceil(ttlSeconds)));
    },
    get: async (key) => parse(await redis.get(keyOf(key))),
    take: async (key) => parse(await redis.getdel(keyOf(key))),
    async delete(key) {
      await redis.del(keyOf(key));
    },
  };
}

const UNEXPIRED = '(expires_at IS NULL OR expires_at > now())';

export function createSqlAttemptStore(db: Database): AttemptStore {
  return {
    async put(key, value, ttlSeconds) {
      await db.query(
        `INSERT INTO oidc_payloads (model, id, payload, expires_at)
         VALUES ($1, $2, $3::jsonb, now() + make_interval(secs => $4::double precision))
         ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, expires_at = excluded.expires_at`,
        [MODEL, key, JSON.stringify(value), Math.max(1, Math.ceil(ttlSeconds))],
      );
    },
    async get<T>(key: string) {
      const { rows } = await db.query<{ payload: T }>(`SELECT payload FROM oidc_payloads WHERE model = $1 AND id = $2 AND ${UNEXPIRED}`, [MODEL, key]);
      return rows[0]?.payload ?? null;
    },
    async take<T>(key: string) {
      // DELETE ... RETURNING: of two concurrent takes, only the one that deletes the row gets it.
      const { rows } = await db.query<{ payload: T; live: boolean }>(
        `DELETE FROM oidc_payloads WHERE model = $1 AND id = $2 RETURNING payload, ${UNEXPIRED} AS live`,
        [MODEL, key],
      );
      return rows[0]?.live ? rows[0].payload : null;
    },
    async delete(key) {
      await db.query('DELETE FROM oidc_payloads WHERE model = $1 AND id = $2', [MODEL, key]);
    },
  };
}
