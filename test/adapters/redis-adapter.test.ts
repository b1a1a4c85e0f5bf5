import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createRedisAdapterFactory } from '../../src/oidc/adapters/redis.ts';
import { createRecordCache, type RecordCache } from '../../src/db/redis-record-cache.ts';
import { createAccountStateRevoker, createAccountStateStore } from '../../src/oidc/adapters/account-state.ts';
import type { Database } from '../../src/db/database.ts';
import { adapterContract, newId, type AdapterUnderTest } from './contract.ts';
import { commandsSentDuring, redisReachable, redisRequired, redisTestUrl } from '../helpers/redis.ts';

const url = redisTestUrl;
// An explicit REDIS_URL (as in CI) means Redis is required: unreachable must fail, not skip.
const required = redisRequired;

const skip = !required && !(await redisReachable(url));
if (skip) {
  console.warn(`\n!!! Redis is not reachable at ${url}: SKIPPING the Redis adapter tests. Set REDIS_URL to require Redis.\n`);
}

/** With Redis configured the revoker must never touch the database. */
const unusedDatabase = new Proxy({} as Database, {
  get() {
    throw new Error('the SQL database must not be used when Redis is configured');
  },
});

interface RedisUnderTest extends AdapterUnderTest {
  redis: Redis;
  prefix: string;
}

/** Waits until the record cache serves from memory (both of its connections up, tracking on). */
export async function cacheActive(cache: RecordCache): Promise<void> {
  for (let waited = 0; !cache.active; waited += 10) {
    if (waited > 5_000) throw new Error('the record cache did not start within 5 s');
    await sleep(10);
  }
}

/**
 * A client of its own and a random key prefix, so parallel runs never see each other's keys;
 * with `cache`, reads of the cached models go through a record cache on two more connections.
 */
async function connect(options: { cache?: boolean } = {}): Promise<RedisUnderTest> {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 5_000, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
  } catch (cause) {
    redis.disconnect();
    throw new Error(`Redis is required (REDIS_URL) but not reachable at ${url}`, { cause });
  }
  const prefix = `idp-test:${randomBytes(6).toString('hex')}:`;
  const cache = options.cache ? createRecordCache(new Redis(url, { maxRetriesPerRequest: 1 }), new Redis(url, { maxRetriesPerRequest: 1, protocol: 2, autoResubscribe: false }), { maxEntries: 1_000 }) : null;
  if (cache) await cacheActive(cache);
  return {
    redis,
    prefix,
    factory: createRedisAdapterFactory(redis, prefix, { cache }),
    revokeAccountState: createAccountStateRevoker({ redis, prefix, db: unusedDatabase }),
    accountState: createAccountStateStore({ redis, prefix, db: unusedDatabase }),
    async teardown() {
      // SCAN, not KEYS: KEYS blocks the server while it walks the whole keyspace.
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        if (keys.length > 0) await redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      await cache?.close();
      await redis.quit();
    },
  };
}

describe.skipIf(skip)('RedisAdapter', () => {
  adapterContract('contract', connect);
  adapterContract('contract, reads through the record cache', () => connect({ cache: true }));

  describe('keys and index TTLs', () => {
    let subject: RedisUnderTest;

    beforeAll(async () => {
      subject = await connect();
    });

    afterAll(async () => {
      await subject?.teardown();
    });

    it('stores the payload as a JSON string under prefix + model + id', async () => {
      const id = newId();
      await subject.factory('AccessToken').upsert(id, { jti: id, scope: 'openid' }, 60);
      const raw = await subject.redis.get(`${subject.prefix}AccessToken:${id}`);
      expect(JSON.parse(raw ?? 'null')).toEqual({ jti: id, scope: 'openid' });
      expect(await subject.redis.ttl(`${subject.prefix}AccessToken:${id}`)).toBeGreaterThan(55);
    });

    it('stretches the grant index TTL to its longest-lived member, never shortening it', async () => {
      const grantId = newId();
      const grantKey = `${subject.prefix}grant:${grantId}`;
      await subject.factory('AccessToken').upsert(newId(), { grantId }, 60);
      const first = await subject.redis.ttl(grantKey);
      expect(first).toBeGreaterThan(55);
      expect(first).toBeLessThanOrEqual(60);

      await subject.factory('RefreshToken').upsert(newId(), { grantId }, 600);
      await subject.factory('AuthorizationCode').upsert(newId(), { grantId }, 30);
      const stretched = await subject.redis.ttl(grantKey);
      expect(stretched).toBeGreaterThan(595);
      expect(stretched).toBeLessThanOrEqual(600);
      expect(await subject.redis.scard(grantKey)).toBe(3);

      await subject.factory('AccessToken').revokeByGrantId(grantId);
      expect(await subject.redis.exists(grantKey)).toBe(0);
    });

    it('gives the uid and userCode pointers the TTL of their record', async () => {
      const [session, device, uid, userCode] = [newId(), newId(), newId(), newId()];
      await subject.factory('Session').upsert(session, { jti: session, uid }, 120);
      await subject.factory('DeviceCode').upsert(device, { jti: device, userCode }, 90);
      for (const [key, ttl] of [
        [`${subject.prefix}uid:Session:${uid}`, 120],
        [`${subject.prefix}userCode:DeviceCode:${userCode}`, 90],
      ] as const) {
        const actual = await subject.redis.ttl(key);
        expect(actual, key).toBeGreaterThan(ttl - 5);
        expect(actual, key).toBeLessThanOrEqual(ttl);
      }
    });

    it('removes the index entries of a destroyed record', async () => {
      const [session, uid, grantId, token] = [newId(), newId(), newId(), newId()];
      await subject.factory('Session').upsert(session, { jti: session, uid });
      await subject.factory('AccessToken').upsert(token, { jti: token, grantId });
      // Records without expiry leave indexes without expiry, so destroy must clean them.
      expect(await subject.redis.ttl(`${subject.prefix}uid:Session:${uid}`)).toBe(-1);
      expect(await subject.redis.ttl(`${subject.prefix}grant:${grantId}`)).toBe(-1);

      await subject.factory('Session').destroy(session);
      await subject.factory('AccessToken').destroy(token);
      expect(await subject.redis.exists(`${subject.prefix}uid:Session:${uid}`)).toBe(0);
      expect(await subject.redis.exists(`${subject.prefix}grant:${grantId}`)).toBe(0);
    });

    it('stretches the account index TTL to its longest-lived member, never shortening it', async () => {
      const accountId = newId();
      const accountKey = `${subject.prefix}account:${accountId}`;
      await subject.factory('Session').upsert(newId(), { accountId }, 60);
      const first = await subject.redis.ttl(accountKey);
      expect(first).toBeGreaterThan(55);
      expect(first).toBeLessThanOrEqual(60);

      await subject.factory('RefreshToken').upsert(newId(), { accountId, grantId: newId() }, 600);
      await subject.factory('AccessToken').upsert(newId(), { accountId, grantId: newId() }, 30);
      const stretched = await subject.redis.ttl(accountKey);
      expect(stretched).toBeGreaterThan(595);
      expect(stretched).toBeLessThanOrEqual(600);
      expect(await subject.redis.scard(accountKey)).toBe(3);

      expect(await subject.revokeAccountState(accountId)).toBe(3);
      expect(await subject.redis.exists(accountKey)).toBe(0);
    });

    it('keeps the account index without TTL while a member has none, and cleans it on destroy', async () => {
      const [accountId, lasting, forever] = [newId(), newId(), newId()];
      const accountKey = `${subject.prefix}account:${accountId}`;
      await subject.factory('Session').upsert(lasting, { jti: lasting, accountId }, 60);
      await subject.factory('Grant').upsert(forever, { jti: forever, accountId });
      expect(await subject.redis.ttl(accountKey)).toBe(-1);
      await subject.factory('Session').upsert(newId(), { accountId }, 600);
      expect(await subject.redis.ttl(accountKey)).toBe(-1);

      await subject.factory('Grant').destroy(forever);
      expect(await subject.redis.sismember(accountKey, `${subject.prefix}Grant:${forever}`)).toBe(0);
      expect(await subject.redis.scard(accountKey)).toBe(2);
    });

    it('leaves a small index as it is: it expires with its records', async () => {
      const accountId = newId();
      const accountKey = `${subject.prefix}account:${accountId}`;
      const session = newId();
      await subject.factory('Session').upsert(session, { jti: session, accountId }, 600);
      await subject.factory('Session').upsert(newId(), { accountId }, 1);
      await sleep(1_500);
      await subject.factory('AccessToken').upsert(newId(), { accountId, grantId: newId() }, 60);
      // The expired session's key stays a member until the set is large enough to prune...
      expect(await subject.redis.scard(accountKey)).toBe(3);
      expect(await subject.redis.ttl(accountKey)).toBeGreaterThan(595);
      // ...and readers re-check each member's record, so it is never listed.
      expect((await subject.accountState.listSessions(accountId)).map((listed) => listed.id)).toEqual([session]);
    });

    it('prunes the dead members of a large index after the request, never a live one', async () => {
      const accountId = newId();
      const accountKey = `${subject.prefix}account:${accountId}`;
      // 200 members whose records are gone (expired), as a busy account's set collects them.
      const dead = Array.from({ length: 200 }, () => `${subject.prefix}AccessToken:${newId()}`);
      await subject.redis.sadd(accountKey, ...dead);
      const live: string[] = [];
      for (let index = 0; index < 64; index++) {
        const id = newId();
        live.push(`${subject.prefix}AccessToken:${id}`);
        await subject.factory('AccessToken').upsert(id, { jti: id, accountId, grantId: newId() }, 600);
      }
      // 64 adds: four prunes of 48 random members each, run without the upserts waiting for them.
      const deadLeft = async () => (await subject.redis.smismember(accountKey, ...dead)).filter(Boolean).length;
      const started = performance.now();
      while ((await deadLeft()) > 160 && performance.now() - started < 5_000) await sleep(50);
      expect(await deadLeft()).toBeLessThanOrEqual(160);
      expect((await subject.redis.smismember(accountKey, ...live)).every(Boolean)).toBe(true);
    });

    it('sends scripts by their SHA1 (the text only when Redis lacks it): one EVALSHA per indexed upsert and per consume', async () => {
      // Once, so this Redis knows every script's text whatever ran before.
      const warm = newId();
      await subject.factory('AuthorizationCode').upsert(warm, { jti: warm, accountId: newId(), grantId: newId() }, 60);
      await subject.factory('AuthorizationCode').consume(warm);
      const sent = await commandsSentDuring(subject.redis, async () => {
        for (let index = 0; index < 5; index++) {
          const id = newId();
          await subject.factory('AuthorizationCode').upsert(id, { jti: id, accountId: newId(), grantId: newId() }, 60);
          await subject.factory('AuthorizationCode').consume(id);
        }
      });
      // An upsert with its grant and account index entries, and a consume: one EVALSHA each.
      expect(sent).toEqual(Array.from({ length: 10 }, () => 'evalsha'));
    });

    it('finds a session by its uid in one round trip, and nothing once the pointer or the record is gone', async () => {
      const [session, uid, orphanUid] = [newId(), newId(), newId()];
      await subject.factory('Session').upsert(session, { jti: session, uid, accountId: newId() }, 60);
      // A pointer whose record has gone (deleted behind the adapter's back).
      await subject.redis.set(`${subject.prefix}uid:Session:${orphanUid}`, newId(), 'EX', 60);
      const sent = await commandsSentDuring(subject.redis, async () => {
        expect(await subject.factory('Session').findByUid(uid)).toMatchObject({ jti: session, uid });
      });
      expect(sent).toEqual(['evalsha']);
      expect(await subject.factory('Session').findByUid(orphanUid)).toBeUndefined();
      expect(await subject.factory('Session').findByUid(newId())).toBeUndefined();
    });

    it('leaves no index or pointer of a revoked account behind', async () => {
      const [accountId, session, grantId, token, device, uid, userCode] = [newId(), newId(), newId(), newId(), newId(), newId(), newId()];
      await subject.factory('Session').upsert(session, { jti: session, uid, accountId });
      await subject.factory('Grant').upsert(grantId, { jti: grantId, accountId });
      await subject.factory('AccessToken').upsert(token, { jti: token, grantId });
      await subject.factory('DeviceCode').upsert(device, { jti: device, grantId, accountId, userCode });
      // A token of the account under a grant the account set does not list.
      const [strayGrant, stray] = [newId(), newId()];
      await subject.factory('RefreshToken').upsert(stray, { jti: stray, grantId: strayGrant, accountId });

      expect(await subject.revokeAccountState(accountId)).toBe(5);
      for (const key of [
        `${subject.prefix}account:${accountId}`,
        `${subject.prefix}grant:${grantId}`,
        `${subject.prefix}grant:${strayGrant}`,
        `${subject.prefix}uid:Session:${uid}`,
        `${subject.prefix}userCode:DeviceCode:${userCode}`,
      ]) {
        expect(await subject.redis.exists(key), key).toBe(0);
      }
    });

    it('revokes the tokens of an account grant whose Grant record already expired', async () => {
      const [accountId, session, grantId, token] = [newId(), newId(), newId(), newId()];
      // The session keeps the account set alive past the Grant record.
      await subject.factory('Session').upsert(session, { jti: session, accountId }, 60);
      await subject.factory('Grant').upsert(grantId, { jti: grantId, accountId }, 1);
      await subject.factory('AccessToken').upsert(token, { jti: token, grantId }, 60);
      await sleep(1_500);
      expect(await subject.revokeAccountState(accountId)).toBe(2);
      expect(await subject.factory('AccessToken').find(token)).toBeUndefined();
      expect(await subject.redis.exists(`${subject.prefix}grant:${grantId}`)).toBe(0);
    });

    it('leaves no index entry or pointer of a revoked session or grant behind', async () => {
      const [accountId, session, uid, grantId, other, token, device, userCode] = [newId(), newId(), newId(), newId(), newId(), newId(), newId(), newId()];
      await subject.factory('Grant').upsert(grantId, { jti: grantId, accountId, clientId: 'client-1' }, 60);
      await subject.factory('Grant').upsert(other, { jti: other, accountId, clientId: 'client-2' }, 60);
      await subject.factory('Session').upsert(session, { jti: session, uid, accountId, authorizations: { 'client-1': { grantId } } }, 60);
      await subject.factory('AccessToken').upsert(token, { jti: token, grantId, accountId }, 60);
      await subject.factory('DeviceCode').upsert(device, { jti: device, grantId, accountId, userCode }, 60);
      const accountKey = `${subject.prefix}account:${accountId}`;
      expect(await subject.redis.scard(accountKey)).toBe(5);

      expect(await subject.accountState.revokeSession(accountId, session)).toBe(true);
      expect(await subject.redis.smembers(accountKey)).toEqual([`${subject.prefix}Grant:${other}`]);
      for (const key of [
        `${subject.prefix}grant:${grantId}`,
        `${subject.prefix}uid:Session:${uid}`,
        `${subject.prefix}userCode:DeviceCode:${userCode}`,
      ]) {
        expect(await subject.redis.exists(key), key).toBe(0);
      }

      expect(await subject.accountState.revokeGrant(accountId, other)).toBe(true);
      expect(await subject.redis.exists(accountKey)).toBe(0);
    });

    it('lists sessions and grants without touching keys outside the account and grant sets', async () => {
      const [accountId, grantId, session, token] = [newId(), newId(), newId(), newId()];
      await subject.factory('Grant').upsert(grantId, { jti: grantId, accountId, clientId: 'client-1', iat: 1_700_000_000 }, 60);
      await subject.factory('Session').upsert(session, { jti: session, uid: newId(), accountId }, 60);
      await subject.factory('RefreshToken').upsert(token, { jti: token, grantId, accountId, iat: 1_700_000_100 }, 60);
      const monitor = await subject.redis.duplicate().monitor();
      const commands: string[] = [];
      monitor.on('monitor', (_time: string, args: string[]) => {
        // Every command on this suite's keys (tests in one file run one at a time), SCAN's MATCH included.
        if (args.some((arg) => arg.includes(subject.prefix))) {
          commands.push(args[0]?.toLowerCase() ?? '');
        }
      });
      try {
        expect((await subject.accountState.listSessions(accountId)).map(({ id }) => id)).toEqual([session]);
        expect((await subject.accountState.listGrants(accountId)).map(({ lastUsedAt }) => lastUsedAt)).toEqual([new Date(1_700_000_100_000)]);
        await sleep(100);
      } finally {
        monitor.disconnect();
      }
      // Two round trips for the sessions; four for the grants (the SMEMBERS of the account set and
      // of the grant set, two MGETs). No SCAN or KEYS.
      expect(commands.sort()).toEqual(['mget', 'mget', 'mget', 'smembers', 'smembers', 'smembers'].sort());
    });

    it('refuses to revoke an empty account id', async () => {
      await expect(subject.revokeAccountState('')).rejects.toThrow(TypeError);
    });

    it('keeps the record TTL when consuming', async () => {
      const id = newId();
      await subject.factory('AuthorizationCode').upsert(id, { jti: id }, 120);
      await subject.factory('AuthorizationCode').consume(id);
      expect(await subject.redis.ttl(`${subject.prefix}AuthorizationCode:${id}`)).toBeGreaterThan(115);
    });
  });
});
