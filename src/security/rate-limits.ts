import { createHash } from 'node:crypto';
import type { RedisClient } from '../db/redis-connect.ts';
import { RateLimiterPostgres, RateLimiterRedis, RateLimiterRes, type RateLimiterStoreAbstract } from 'rate-limiter-flexible';
import type { Database } from '../db/database.ts';
import { AppError } from '../errors.ts';

export interface Rate {
  points: number;
  durationSeconds: number;
}

export type Limiter = RateLimiterStoreAbstract;

/**
 * Limiters live in the same store as the provider state, so every instance counts together:
 * Redis when configured, otherwise the `rate_limits` table (migrations/0012). All limiters
 * share one table; the key prefix tells them apart. rate-limiter-flexible updates a counter in
 * one atomic statement (a Lua script, or INSERT … ON CONFLICT … RETURNING), which is what makes
 * a limit hold under concurrency. That script touches one key per counter, so RateLimiterRedis
 * works alike with a standalone, Sentinel-managed or Cluster client.
 */
export function createLimiterFactory(options: { redis: RedisClient | null; db: Database; prefix: string }) {
  return (name: string, rate: Rate): Limiter => {
    const common = { keyPrefix: `${options.prefix}rl:${name}`, points: rate.points, duration: rate.durationSeconds };
    if (options.redis) return new RateLimiterRedis({ ...common, storeClient: options.redis });
    return new RateLimiterPostgres({
      ...common,
      storeClient: options.db.embedded ? unnamedStatements(options.db) : options.db.pool,
      storeType: 'pool',
      tableName: 'rate_limits',
      tableCreated: true,
      // Its own cleanup timer would keep processes (the CLI, tests) alive; deps.ts sweeps instead.
      clearExpiredByTimeout: false,
    });
  };
}

export type LimiterFactory = ReturnType<typeof createLimiterFactory>;

/**
 * The library names its prepared statements. PGlite is one backend session shared by every
 * pooled connection, so a name prepared through one connection already exists for the next and
 * PostgreSQL refuses it; on the embedded database the queries go unnamed.
 */
function unnamedStatements(db: Database) {
  return { query: (query: { text: string; values?: unknown[] }) => db.pool.query({ text: query.text, values: query.values ?? [] }) };
}

/** Deletes expired rows of the SQL store; returns how many. */
export async function deleteExpiredRateLimits(db: Database): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM rate_limits WHERE expire IS NOT NULL AND expire < $1', [Date.now()]);
  return rowCount;
}

/**
 * A stable, fixed-length key for an email or IP: keys stay within the store's 255 characters and
 * the counters do not hold addresses in clear.
 */
export const limitKey = (value: string): string => createHash('sha256').update(value.trim().toLowerCase()).digest('base64url');

export type Consumed = { ok: true; res: RateLimiterRes } | { ok: false; retryAfterSeconds: number; res: RateLimiterRes };

/** Takes a point; `ok: false` when over the limit. Store failures are rethrown, not read as "limited". */
export async function consume(limiter: Limiter, key: string, points = 1, options?: { customDuration?: number }): Promise<Consumed> {
  try {
    return { ok: true, res: await limiter.consume(key, points, options) };
  } catch (error) {
    if (error instanceof RateLimiterRes) return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(error.msBeforeNext / 1000)), res: error };
    throw error;
  }
}

/** Over a limit: 429 with Retry-After, as a page for people and JSON for API clients. */
export class RateLimitedError extends AppError {
  override name = 'RateLimitedError';
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number) {
    super('rate_limited', message, 429);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export const waitText = (seconds: number): string =>
  seconds < 90 ? `${seconds} seconds` : seconds < 5400 ? `${Math.ceil(seconds / 60)} minutes` : `${Math.ceil(seconds / 3600)} hours`;
