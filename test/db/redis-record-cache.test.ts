import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createRecordCache, type RecordCache } from '../../src/db/redis-record-cache.ts';
import { createRedisAdapterFactory } from '../../src/oidc/adapters/redis.ts';
import { commandsSentDuring, redisReachable, redisRequired, redisTestUrl } from '../helpers/redis.ts';

const url = redisTestUrl;
// An explicit REDIS_URL (as in CI) means Redis is required: unreachable must fail, not skip.
const skip = !redisRequired && !(await redisReachable(url));

/** Polls `condition` every 10 ms, failing after `ms`. */
async function until(condition: () => boolean, what: string, ms = 5_000): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

interface Subject {
  cache: RecordCache;
  reader: Redis;
  listener: Redis;
  listenerName: string;
  warnings: string[];
  infos: string[];
}

describe.skipIf(skip)('Redis record cache', () => {
  /** Another instance, or anyone else writing to the same Redis. */
  let other: Redis;
  const opened: Subject[] = [];
  const prefix = `idp-test:cache:${randomBytes(6).toString('hex')}:`;
  const key = (name: string): string => `${prefix}${name}:${randomBytes(4).toString('hex')}`;

  beforeAll(() => {
    other = new Redis(url, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    const keys = await other.keys(`${prefix}*`);
    if (keys.length) await other.del(...keys);
    other.disconnect();
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map(({ cache }) => cache.close()));
  });

  async function open(options: { start?: boolean; maxEntries?: number; beforeStart?: (reader: Redis) => void } = {}): Promise<Subject> {
    const reader = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: 1_000 });
    // Named, so a test can find it among the other processes' listeners on this Redis.
    const listenerName = `test-listener-${randomBytes(4).toString('hex')}`;
    const listener = new Redis(url, { maxRetriesPerRequest: 1, commandTimeout: 1_000, protocol: 2, autoResubscribe: false, connectionName: listenerName });
    options.beforeStart?.(reader);
    const warnings: string[] = [];
    const infos: string[] = [];
    const logger = { warn: (_: unknown, message?: string) => void warnings.push(message ?? ''), info: (message: unknown) => void infos.push(String(message)) };
    const cache = createRecordCache(reader, listener, { maxEntries: options.maxEntries ?? 1_000, logger });
    const subject = { cache, reader, listener, listenerName, warnings, infos };
    opened.push(subject);
    if (options.start !== false) await until(() => cache.active, 'the cache to start');
    return subject;
  }

  /** Commands the reader sent while `work` ran. */
  const readsDuring = (subject: Subject, work: () => Promise<void>) => commandsSentDuring(subject.reader, work);

  it('serves a record it read once from memory, and a key Redis does not have as well', async () => {
    const subject = await open();
    const present = key('AccessToken');
    const absent = key('ClientCredentials');
    await other.set(present, '{"jti":"a"}');
    expect(await subject.cache.get(present)).toBe('{"jti":"a"}');
    expect(await subject.cache.get(absent)).toBeNull();
    const sent = await readsDuring(subject, async () => {
      expect(await subject.cache.get(present)).toBe('{"jti":"a"}');
      expect(await subject.cache.get(absent)).toBeNull();
    });
    expect(sent).toEqual([]);
    expect(subject.cache.stats).toMatchObject({ hits: 2, misses: 2 });
  });

  it('hands out its own copy of a parsed record to every caller, and drops it on a change', async () => {
    const subject = await open();
    const grant = key('Grant');
    await other.set(grant, '{"jti":"g","openid":{"scope":"openid","claims":["email"]},"__proto__":{"admin":true}}');
    const first = (await subject.cache.getParsed(grant)) as { openid: { scope: string; claims: string[] } };
    const sent = await readsDuring(subject, async () => {
      const second = (await subject.cache.getParsed(grant)) as { openid: { scope: string; claims: string[] } };
      // What oidc-provider does to a grant it is about to save: none of it reaches the next reader.
      second.openid.scope = 'openid profile';
      second.openid.claims.push('name');
      const third = (await subject.cache.getParsed(grant)) as Record<string, unknown>;
      expect(third).toEqual(first);
      expect(third.openid).toEqual({ scope: 'openid', claims: ['email'] });
      // A stored "__proto__" stays a field, as JSON.parse leaves it, and sets no prototype.
      expect(Object.getPrototypeOf(third)).toBe(Object.prototype);
      expect(Object.hasOwn(third, '__proto__')).toBe(true);
      expect((third as { admin?: boolean }).admin).toBeUndefined();
      expect(await subject.cache.getParsed(key('Grant'))).toBeNull();
    });
    expect(sent).toEqual(['get']);
    await other.set(grant, '{"jti":"g","openid":{"scope":"email"}}');
    await until(() => subject.cache.peek(grant) === undefined, 'the invalidation');
    expect(await subject.cache.getParsed(grant)).toEqual({ jti: 'g', openid: { scope: 'email' } });
  });

  it('drops a record another client changed, deleted or created, as soon as Redis says so', async () => {
    const subject = await open();
    const changed = key('Session');
    const deleted = key('Session');
    const created = key('Session');
    await other.set(changed, 'v1');
    await other.set(deleted, 'v1');
    for (const name of [changed, deleted, created]) await subject.cache.get(name);

    const before = subject.cache.stats.invalidations;
    await other.set(changed, 'v2');
    await other.del(deleted);
    await other.set(created, 'v1');
    await until(() => subject.cache.stats.invalidations >= before + 3, 'three invalidations');

    expect(await subject.cache.get(changed)).toBe('v2');
    expect(await subject.cache.get(deleted)).toBeNull();
    expect(await subject.cache.get(created)).toBe('v1');
  });

  it('drops a record when Redis expires it, and never serves one past its own exp', async () => {
    const subject = await open();
    const byTtl = key('Grant');
    const byExp = key('Grant');
    await other.set(byTtl, 'short', 'PX', 150);
    // No TTL in Redis, but the record says it ends in a second: the cache believes the record.
    await other.set(byExp, JSON.stringify({ exp: Math.floor(Date.now() / 1000) + 1, nested: { exp: 9999999999 } }));
    expect(await subject.cache.get(byTtl)).toBe('short');
    expect(await subject.cache.get(byExp)).not.toBeNull();
    await sleep(2_100);
    // The TTL'd key: Redis' own expiry sent the invalidation (or the GET finds it gone).
    expect(await subject.cache.get(byTtl)).toBeNull();
    // The other went back to Redis (and found it, since Redis keeps it): a miss, not a hit.
    const sent = await readsDuring(subject, async () => void (await subject.cache.get(byExp)));
    expect(sent).toEqual(['get']);
  });

  it('reads its own writes at once, without waiting for the invalidation', async () => {
    const subject = await open();
    const name = key('Interaction');
    await other.set(name, 'old');
    expect(await subject.cache.get(name)).toBe('old');
    // The listener hears nothing for a while: only around() can keep the old value from being served.
    const emit = subject.listener.emit.bind(subject.listener);
    subject.listener.emit = () => true;
    try {
      await subject.cache.around([name], () => other.set(name, 'new'));
      expect(await subject.cache.get(name)).toBe('new');
    } finally {
      subject.listener.emit = emit;
    }
  });

  it('does not keep a reply that an invalidation or a local write overtook', async () => {
    const subject = await open();
    const overtaken = key('AccessToken');
    const written = key('AccessToken');
    await other.mset(overtaken, 'v1', written, 'v1');

    // The invalidation comes on the listener's socket, the reply on the reader's: either can come first.
    const inFlight = subject.cache.get(overtaken);
    subject.listener.emit('messageBuffer', Buffer.from('__redis__:invalidate'), [Buffer.from(overtaken)]);
    expect(await inFlight).toBe('v1');

    const racing = subject.cache.get(written);
    const write = subject.cache.around([written], () => other.set(written, 'v2'));
    await Promise.all([racing, write]);

    const sent = await readsDuring(subject, async () => {
      expect(await subject.cache.get(overtaken)).toBe('v1');
      expect(await subject.cache.get(written)).toBe('v2');
    });
    expect(sent).toEqual(['get', 'get']);
  });

  it('forgets everything around a write whose keys it is not told, and on a flush', async () => {
    const subject = await open();
    const a = key('Session');
    const b = key('Grant');
    await other.mset(a, '1', b, '2');
    await Promise.all([subject.cache.get(a), subject.cache.get(b)]);
    await subject.cache.around(null, () => other.set(a, '1b'));
    expect(await readsDuring(subject, async () => void (await subject.cache.get(b)))).toEqual(['get']);
    expect(await subject.cache.get(a)).toBe('1b');

    // A flush of any database reaches every tracking client as one message without keys.
    const listener = subject.listener;
    const flushes: unknown[] = [];
    listener.on('messageBuffer', (_channel: Buffer, message: unknown) => void (message === null && flushes.push(message)));
    const scratch = new Redis(url, { db: 13, maxRetriesPerRequest: 1 });
    try {
      await scratch.flushdb();
    } finally {
      scratch.disconnect();
    }
    await until(() => flushes.length > 0, 'the flush message');
    expect(await readsDuring(subject, async () => void (await subject.cache.get(a)))).toEqual(['get']);
  });

  /**
   * Kills one of the cache's connections (by client id) with `name` cached: the cache pauses,
   * reads go to Redis meanwhile, and once it is back it serves `name` and hears of its changes.
   */
  async function survivesKill(subject: Subject, name: string, clientId: () => Promise<string>): Promise<void> {
    await other.set(name, 'v1');
    await subject.cache.get(name);
    await other.client('KILL', 'ID', await clientId());
    await until(() => !subject.cache.active, 'the cache to pause');
    // Paused: the read goes to Redis (beside the reconnect's own commands, if it is under way).
    expect(await readsDuring(subject, async () => void (await subject.cache.get(name)))).toContain('get');
    await until(() => subject.cache.active, 'the cache to resume');
    expect(await subject.cache.get(name)).toBe('v1');
    // Tracking now runs on the new connections.
    const before = subject.cache.stats.invalidations;
    await other.set(name, 'v2');
    await until(() => subject.cache.stats.invalidations > before, 'an invalidation after the reconnect');
    expect(await subject.cache.get(name)).toBe('v2');
  }

  it('stops serving when the listener drops, and serves again, tracked, once it is back', async () => {
    const subject = await open();
    await survivesKill(subject, key('Session'), async () => {
      const list = String(await other.client('LIST'));
      const id = new RegExp(`id=(\\d+)[^\\n]*name=${subject.listenerName}`).exec(list)?.[1];
      if (!id) throw new Error('the listener is not in CLIENT LIST');
      return id;
    });
  });

  it('stops serving when the reader drops, and turns tracking on again on its new connection', async () => {
    const subject = await open();
    await survivesKill(subject, key('Grant'), async () => String(await subject.reader.client('ID')));
  });

  it('reads through to Redis and says so once when the server refuses tracking', async () => {
    const subject = await open({
      start: false,
      beforeStart: (reader) => {
        const client = reader.client.bind(reader) as (...args: string[]) => Promise<unknown>;
        (reader as unknown as { client: (...args: string[]) => Promise<unknown> }).client = (...args: string[]) =>
          args[0] === 'TRACKING' ? Promise.reject(new Error("ERR unknown subcommand 'TRACKING'")) : client(...args);
      },
    });
    await until(() => subject.warnings.length > 0, 'the warning');
    const name = key('Session');
    await other.set(name, 'v1');
    expect(await subject.cache.get(name)).toBe('v1');
    expect(await readsDuring(subject, async () => void (await subject.cache.get(name)))).toEqual(['get']);
    expect(subject.cache.active).toBe(false);
    expect(subject.warnings).toEqual(['redis record cache off: every read goes to Redis']);
  });

  it('closes quietly: a shutdown is not reported as the cache pausing', async () => {
    const subject = await open();
    await subject.cache.close();
    expect(subject.cache.active).toBe(false);
    expect(subject.infos).toEqual([]);
  });

  it('holds no more than its entry limit, least recently used out first', async () => {
    const subject = await open({ maxEntries: 2 });
    const [a, b, c] = [key('AccessToken'), key('AccessToken'), key('AccessToken')];
    for (const name of [a, b, c]) await other.set(name, name);
    await subject.cache.get(a);
    await subject.cache.get(b);
    await subject.cache.get(a);
    await subject.cache.get(c);
    expect(await readsDuring(subject, async () => {
      await subject.cache.get(a);
      await subject.cache.get(c);
    })).toEqual([]);
    expect(await readsDuring(subject, async () => void (await subject.cache.get(b)))).toEqual(['get']);
  });

  describe('under the Redis adapter', () => {
    it('looks a token, its session by uid and its grant up without a round trip once known; another instance revoking them reaches it', async () => {
      const subject = await open();
      const mine = new Redis(url, { maxRetriesPerRequest: 1 });
      const theirs = new Redis(url, { maxRetriesPerRequest: 1 });
      try {
        const adapterPrefix = `${prefix}adapter:${randomBytes(3).toString('hex')}:`;
        const here = createRedisAdapterFactory(mine, adapterPrefix, { cache: subject.cache });
        const there = createRedisAdapterFactory(theirs, adapterPrefix);
        const exp = Math.floor(Date.now() / 1000) + 300;
        await there('Session').upsert('s1', { uid: 'u1', accountId: 'acc', exp }, 300);
        await there('Grant').upsert('g1', { accountId: 'acc', clientId: 'c', exp }, 300);
        await there('AccessToken').upsert('t1', { grantId: 'g1', accountId: 'acc', sessionUid: 'u1', exp }, 300);

        const lookUp = async () => [await here('AccessToken').find('t1'), await here('ClientCredentials').find('t1'), await here('Session').findByUid('u1'), await here('Grant').find('g1')];
        // The session by uid is one script the first time, which Redis tracks only for the
        // pointer; the record itself is then read (and kept) on the second lookup.
        const reads: string[][] = [];
        const first = await lookUp();
        reads.push(await commandsSentDuring(subject.reader, async () => void expect(await lookUp()).toEqual(first)));
        expect(reads).toEqual([['get']]);
        let read: string[] = [];
        const sent = await commandsSentDuring(mine, async () => {
          read = await commandsSentDuring(subject.reader, async () => void expect(await lookUp()).toEqual(first));
        });
        expect(first[0]).toMatchObject({ grantId: 'g1' });
        expect(first[2]).toMatchObject({ accountId: 'acc' });
        expect({ sent, read }).toEqual({ sent: [], read: [] });

        const before = subject.cache.stats.invalidations;
        await there('AccessToken').revokeByGrantId('g1');
        await there('Session').destroy('s1');
        await until(() => subject.cache.stats.invalidations > before + 1, 'the invalidations');
        expect(await here('AccessToken').find('t1')).toBeUndefined();
        expect(await here('Session').findByUid('u1')).toBeUndefined();
      } finally {
        mine.disconnect();
        theirs.disconnect();
      }
    });

    it('leaves one-time records (codes, refresh tokens) uncached, so a consume elsewhere is seen at once', async () => {
      const subject = await open();
      const mine = new Redis(url, { maxRetriesPerRequest: 1 });
      try {
        const adapterPrefix = `${prefix}adapter:${randomBytes(3).toString('hex')}:`;
        const here = createRedisAdapterFactory(mine, adapterPrefix, { cache: subject.cache });
        await here('RefreshToken').upsert('r1', { exp: Math.floor(Date.now() / 1000) + 300 }, 300);
        await here('RefreshToken').find('r1');
        expect(await commandsSentDuring(mine, async () => void (await here('RefreshToken').find('r1')))).toEqual(['get']);
        expect(subject.cache.stats.hits).toBe(0);
      } finally {
        mine.disconnect();
      }
    });
  });
});
