import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { luaScript, runScript } from '../../src/db/redis-scripts.ts';
import { commandsSentDuring, redisReachable, redisRequired, redisTestUrl } from '../helpers/redis.ts';

const url = redisTestUrl;
// An explicit REDIS_URL (as in CI) means Redis is required: unreachable must fail, not skip.
const skip = !redisRequired && !(await redisReachable(url));

const ECHO = luaScript('TestEcho', 1, `return KEYS[1] .. ':' .. ARGV[1]`);
const FAIL_ON_BAD = luaScript('TestFailOnBad', 1, `
if ARGV[1] == 'bad' then return redis.error_reply('ERR refused ' .. KEYS[1]) end
return ARGV[1]
`);

// Each script goes as EVALSHA through ioredis' auto-pipelining (src/db/redis-scripts.ts).
describe.skipIf(skip)('Redis scripts', () => {
  let redis: Redis;
  beforeAll(async () => {
    redis = new Redis(url, { enableAutoPipelining: true, maxRetriesPerRequest: 1 });
    // Once, so the texts are loaded and what follows is EVALSHA only.
    await Promise.all([runScript(redis, ECHO, 'warm', 'x'), runScript(redis, FAIL_ON_BAD, 'warm', 'x')]);
  });
  afterAll(() => redis?.disconnect());

  /** Socket writes made while `work` runs. */
  async function writesDuring<T>(work: () => Promise<T>): Promise<{ writes: number; result: T }> {
    const stream = (redis as unknown as { stream: { write: (...args: unknown[]) => boolean } }).stream;
    const original = stream.write;
    let writes = 0;
    stream.write = function (this: unknown, ...args: unknown[]) {
      writes++;
      return original.apply(this, args);
    };
    try {
      const result = await work();
      return { writes, result };
    } finally {
      stream.write = original;
    }
  }

  it('sends the scripts called in one event-loop turn in one write, each caller getting its own reply', async () => {
    const { writes, result } = await writesDuring(() => Promise.all([1, 2, 3, 4].map((n) => runScript(redis, ECHO, `k${n}`, String(n)))));
    expect(result).toEqual(['k1:1', 'k2:2', 'k3:3', 'k4:4']);
    expect(writes).toBe(1);
  });

  it('sends a script called alone as it is, in one write', async () => {
    const { writes, result } = await writesDuring(() => runScript(redis, ECHO, 'alone', 'a'));
    expect(result).toBe('alone:a');
    expect(writes).toBe(1);
  });

  it('fails only the script that failed, not the others sent with it', async () => {
    const outcomes = await Promise.allSettled([
      runScript(redis, FAIL_ON_BAD, 'first', 'good'),
      runScript(redis, FAIL_ON_BAD, 'second', 'bad'),
      runScript(redis, ECHO, 'third', '3'),
    ]);
    expect(outcomes[0]).toEqual({ status: 'fulfilled', value: 'good' });
    expect(outcomes[1]).toMatchObject({ status: 'rejected', reason: { message: expect.stringContaining('refused second') } });
    expect(outcomes[2]).toEqual({ status: 'fulfilled', value: 'third:3' });
  });

  it('sends the text once when Redis does not know the script (restarted or flushed), its hash after that', async () => {
    // A text this Redis has never seen (SCRIPT FLUSH would pull scripts from under the other test files).
    const FRESH = luaScript('TestFresh', 1, `-- ${randomUUID()}\nreturn 'fresh:' .. KEYS[1]`);
    const names = await commandsSentDuring(redis, async () => {
      expect(await runScript(redis, FRESH, 'one')).toBe('fresh:one');
      expect(await runScript(redis, FRESH, 'two')).toBe('fresh:two');
    });
    expect(names).toEqual(['evalsha', 'eval', 'evalsha']);
  });

  it('fails every script of a turn when Redis cannot be reached, and none of them hangs', async () => {
    const down = new Redis({ host: '127.0.0.1', port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    down.on('error', () => undefined);
    try {
      const outcomes = await Promise.allSettled([runScript(down, ECHO, 'a', '1'), runScript(down, ECHO, 'b', '2'), runScript(down, FAIL_ON_BAD, 'c', '3')]);
      expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected', 'rejected']);
    } finally {
      down.disconnect();
    }
  });
});
