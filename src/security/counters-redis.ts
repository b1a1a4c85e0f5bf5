import type { RedisClient } from '../db/redis-connect.ts';
import { luaScript, runScript } from '../db/redis-scripts.ts';
import type { CounterStore, Tally } from './counters.ts';

// Redis expires a counter this long after its window ends by the app's clock. The TTL is only
// garbage collection: the decision is the stored end against the clock. The margin covers
// instances whose clocks differ by a little (each compares the stored end with its own).
const RETAIN_MS = 10 * 60 * 1000;

/*
 * A counter is one hash (p: points, e: window end in epoch ms), one key per counter, so the
 * scripts work alike on a standalone, Sentinel-managed or Cluster client. Times travel as
 * strings from the app and are stored as given: Lua's number formatting of 13-digit values is
 * not something to rely on.
 */

/** KEYS[1]; ARGV: points, now, the end of a window opened now, its TTL in ms. Returns {points, end}. */
const ADD = luaScript('CounterAdd', 1, `
local ends = redis.call('HGET', KEYS[1], 'e')
if ends and tonumber(ends) > tonumber(ARGV[2]) then
  return { redis.call('HINCRBY', KEYS[1], 'p', ARGV[1]), ends }
end
redis.call('HSET', KEYS[1], 'p', ARGV[1], 'e', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return { tonumber(ARGV[1]), ARGV[3] }
`);

/** KEYS[1]; ARGV: negative points, now. */
const SUBTRACT = luaScript('CounterSubtract', 1, `
local ends = redis.call('HGET', KEYS[1], 'e')
if ends and tonumber(ends) > tonumber(ARGV[2]) then redis.call('HINCRBY', KEYS[1], 'p', ARGV[1]) end
return 0
`);

export function createRedisCounterStore(redis: RedisClient): CounterStore {
  return {
    async add(key, points, now, windowMs) {
      const [total, ends] = (await runScript(redis, ADD, key, points, now, now + windowMs, windowMs + RETAIN_MS)) as [number, string];
      return { points: Number(total), endsAt: Number(ends) } satisfies Tally;
    },
    async set(key, points, now, windowMs) {
      // MULTI on one key: atomic, and no Cluster slot question.
      await redis.multi().hset(key, 'p', points, 'e', now + windowMs).pexpire(key, windowMs + RETAIN_MS).exec();
    },
    async subtract(key, points, now) {
      await runScript(redis, SUBTRACT, key, -points, now);
    },
    async delete(key) {
      await redis.del(key);
    },
  };
}
