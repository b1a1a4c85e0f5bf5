import { createHash } from 'node:crypto';
import type { RedisClient } from '../db/redis-connect.ts';
import type { Database } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { systemClock, type Clock } from '../clock.ts';
import type { CounterStore } from './counters.ts';
import { createRedisCounterStore } from './counters-redis.ts';
import { createSqlCounterStore } from './counters-sql.ts';
import { createSqliteCounterStore } from './counters-sqlite.ts';
import type { ProviderStateFile } from '../db/state-sqlite.ts';

export interface Rate {
  points: number;
  durationSeconds: number;
}

/** Points taken so far in the key's window, and how long until the window ends. */
export interface Taken {
  consumed: number;
  msBeforeNext: number;
}

/** Fixed-window counters under one name, each key counted on its own. */
export interface Limiter {
  /** The points a window allows. */
  readonly points: number;
  /** Takes points (never refuses: compare `consumed` with `points`, or use consume()). */
  take(key: string, points?: number): Promise<Taken>;
  /** Holds the key over its limit for `seconds` from now, whatever it had counted. */
  block(key: string, seconds: number): Promise<void>;
  /** Gives points back to the window still open; one that ended has nothing to give back. */
  reward(key: string, points?: number): Promise<void>;
  delete(key: string): Promise<void>;
}

/**
 * Limiters live in the same store as the provider state, so every instance counts together:
 * Redis when configured, the provider state file in embedded mode (counters-sqlite.ts),
 * otherwise the `rate_limits` table (migrations/0012). All limiters
 * share one store; the key prefix tells them apart. A counter changes in one atomic step (a Lua
 * script, or INSERT … ON CONFLICT … RETURNING), which is what makes a limit hold under
 * concurrency. Windows open and end by the injected clock (src/clock.ts).
 */
export function createLimiterFactory(options: { redis: RedisClient | null; db: Database; sqlite?: ProviderStateFile | null; prefix: string; clock?: Clock }) {
  const clock = options.clock ?? systemClock;
  const store: CounterStore = options.redis ? createRedisCounterStore(options.redis) : options.sqlite ? createSqliteCounterStore(options.sqlite) : createSqlCounterStore(options.db);
  return (name: string, rate: Rate): Limiter => {
    // `limit:`, not the `rl:` of the rate-limiter-flexible counters these replace: those were
    // plain strings on Redis, these are hashes, and a leftover must not fail with WRONGTYPE.
    // The leftovers expire (Redis) or are swept (SQL) on their own.
    const keyOf = (key: string) => `${options.prefix}limit:${name}:${key}`;
    const windowMs = rate.durationSeconds * 1000;
    return {
      points: rate.points,
      async take(key, points = 1) {
        const now = clock.now();
        const tally = await store.add(keyOf(key), points, now, windowMs);
        return { consumed: tally.points, msBeforeNext: Math.max(0, tally.endsAt - now) };
      },
      block: (key, seconds) => store.set(keyOf(key), rate.points + 1, clock.now(), seconds * 1000),
      reward: (key, points = 1) => store.subtract(keyOf(key), points, clock.now()),
      delete: (key) => store.delete(keyOf(key)),
    };
  };
}

export type LimiterFactory = ReturnType<typeof createLimiterFactory>;

/**
 * A stable, fixed-length key for an email or IP: keys stay within the store's 255 characters and
 * the counters do not hold addresses in clear.
 */
export const limitKey = (value: string): string => createHash('sha256').update(value.trim().toLowerCase()).digest('base64url');

export type Consumed = { ok: true; consumed: number } | { ok: false; consumed: number; retryAfterSeconds: number };

/** Takes a point; `ok: false` when over the limit. Store failures are thrown, not read as "limited". */
export async function consume(limiter: Limiter, key: string): Promise<Consumed> {
  const taken = await limiter.take(key);
  if (taken.consumed <= limiter.points) return { ok: true, consumed: taken.consumed };
  return { ok: false, consumed: taken.consumed, retryAfterSeconds: Math.max(1, Math.ceil(taken.msBeforeNext / 1000)) };
}

/** Over a limit: 429 with Retry-After, as a page for people and JSON for API clients. */
export class RateLimitedError extends AppError {
  override name = 'RateLimitedError';
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number) {
    super('rate_limited', message, { retryAfterSeconds });
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export const waitText = (seconds: number): string =>
  seconds < 90 ? `${seconds} seconds` : seconds < 5400 ? `${Math.ceil(seconds / 60)} minutes` : `${Math.ceil(seconds / 3600)} hours`;
