import { spawn, spawnSync, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from 'ioredis';
import { createRedisClient } from '../../src/db/redis-connect.ts';
import { createRedisAdapterFactory } from '../../src/oidc/adapters/redis.ts';
import { createAccountStateRevoker, createAccountStateStore } from '../../src/oidc/adapters/account-state.ts';
import { createRedisAttemptStore } from '../../src/federation/attempt-store.ts';
import { createRedisRefreshRotations } from '../../src/oidc/refresh-rotations.ts';
import { refreshRotationsContract } from './refresh-rotations-contract.ts';
import { consume, createLimiterFactory } from '../../src/security/rate-limits.ts';
import type { Database } from '../../src/db/database.ts';
import { freePort } from '../helpers/ports.ts';
import { adapterContract, newId, type AdapterUnderTest } from './contract.ts';

/*
 * The shared adapter contract on a real three-master Redis Cluster this file starts (children of
 * the test process, on free ports, in a temporary directory) and stops, also when a test fails:
 * once with a plain key prefix (the sharded layout: keys spread over every slot) and once with a
 * hash-tagged prefix (the atomic layout, every key in one slot). Then what only a cluster shows.
 */

const execFileAsync = promisify(execFile);

const missing = ['redis-server', 'redis-cli'].filter((binary) => spawnSync(binary, ['--version'], { stdio: 'ignore' }).error !== undefined);
if (missing.length > 0) {
  console.warn(`\n!!! ${missing.join(' and ')} not on PATH: SKIPPING the Redis Cluster tests (test/adapters/redis-cluster.test.ts).\n`);
}
const suite = missing.length > 0 ? describe.skip : describe;

interface LocalCluster {
  /** redis+cluster:// URL listing every node as a seed. */
  url: string;
  stop(): Promise<void>;
}

/** Ports not handed out before in this process (freePort alone may repeat one). */
async function distinctFreePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort());
  return [...ports];
}

/** Answers PING with PONG yet? One short TCP exchange, no client library. */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

async function waitFor(what: string, deadline: number, check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function startCluster(size = 3): Promise<LocalCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'idp-redis-cluster-'));
  const children: ChildProcess[] = [];
  const logs = new Map<number, string>();
  const killAll = () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  // Should the test process die without afterAll, the servers must not outlive it.
  process.once('exit', killAll);
  const stop = async () => {
    process.off('exit', killAll);
    await Promise.all(children.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // Each node needs a client port and a cluster bus port; the default bus port (port + 10000)
    // may be taken or above 65535, so both are picked.
    const allPorts = await distinctFreePorts(size * 2);
    const ports = allPorts.slice(0, size);
    const deadline = Date.now() + 20_000;
    ports.forEach((port, index) => {
      const child = spawn('redis-server', [
        '--cluster-enabled', 'yes',
        '--port', String(port),
        '--cluster-port', String(allPorts[size + index]),
        '--cluster-config-file', join(dir, `nodes-${port}.conf`),
        '--save', '',
        '--appendonly', 'no',
        '--daemonize', 'no',
        '--bind', '127.0.0.1',
        '--dir', dir,
      ], { stdio: ['ignore', 'pipe', 'pipe'] });
      logs.set(port, '');
      const keep = (chunk: Buffer) => logs.set(port, `${logs.get(port) ?? ''}${chunk.toString()}`.slice(-2_000));
      child.stdout?.on('data', keep);
      child.stderr?.on('data', keep);
      children.push(child);
    });
    await Promise.all(ports.map((port, index) => waitFor(`redis-server on port ${port}`, deadline, async () => {
      const child = children[index];
      if (child && (child.exitCode !== null || child.signalCode !== null)) throw new Error(`redis-server on port ${port} exited:\n${logs.get(port)}`);
      return pong(port);
    })));
    const addresses = ports.map((port) => `127.0.0.1:${port}`);
    await execFileAsync('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 15_000 });
    // Every node, not only one, must see all slots covered before clients route by them.
    await waitFor('cluster_state:ok on every node', deadline, async () => {
      const infos = await Promise.all(ports.map((port) => execFileAsync('redis-cli', ['-p', String(port), 'cluster', 'info'], { timeout: 5_000 })));
      return infos.every(({ stdout }) => stdout.includes('cluster_state:ok'));
    });
    return { url: `redis+cluster://${addresses.join(',')}`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** With Redis configured the revoker must never touch the database. */
const unusedDatabase = new Proxy({} as Database, {
  get() {
    throw new Error('the SQL database must not be used when Redis is configured');
  },
});

interface ClusterUnderTest extends AdapterUnderTest {
  redis: Cluster;
  prefix: string;
}

suite('Redis Cluster (three local masters)', () => {
  let cluster: LocalCluster | undefined;
  const clients: Cluster[] = [];

  beforeAll(async () => {
    cluster = await startCluster();
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) client.disconnect();
    await cluster?.stop();
  }, 15_000);

  async function connect(prefix: string): Promise<ClusterUnderTest> {
    if (!cluster) throw new Error('the Redis Cluster did not start');
    // Through the app's own URL parsing and client factory.
    const redis = createRedisClient(cluster.url, { lazyConnect: true });
    if (!(redis instanceof Cluster)) throw new Error('redis+cluster:// must create an ioredis Cluster');
    clients.push(redis);
    await redis.connect();
    return {
      redis,
      prefix,
      factory: createRedisAdapterFactory(redis, prefix),
      revokeAccountState: createAccountStateRevoker({ redis, prefix, db: unusedDatabase }),
      accountState: createAccountStateStore({ redis, prefix, db: unusedDatabase }),
      // The whole cluster goes away with the file; nothing to delete key by key.
      teardown: async () => {
        await redis.quit();
      },
    };
  }

  const run = randomBytes(4).toString('hex');
  adapterContract('contract, keys spread over the slots (sharded layout)', () => connect(`idp-test:${run}:`));
  adapterContract('contract, one hash tag in the prefix (atomic layout, one slot)', () => connect(`{idp-test-${run}}:`));

  describe('sharded layout', () => {
    let subject: ClusterUnderTest;

    beforeAll(async () => {
      subject = await connect(`idp-sharded:${run}:`);
    });

    afterAll(async () => {
      await subject?.teardown();
    });

    const slotOf = (key: string): Promise<number> => subject.redis.cluster('KEYSLOT', key);

    it('answers the health check', async () => {
      expect(await subject.redis.ping()).toBe('PONG');
    });

    it('spreads records over the masters, and keeps a Grant record in the slot of its grant index', async () => {
      const grantId = newId();
      await subject.factory('Grant').upsert(grantId, { jti: grantId, accountId: newId() }, 60);
      const tokens = Array.from({ length: 30 }, () => newId());
      for (const id of tokens) await subject.factory('AccessToken').upsert(id, { jti: id, grantId }, 60);

      expect(await subject.redis.get(`${subject.prefix}AccessToken:{${tokens[0]}}`)).toContain(tokens[0]);
      const grantRecord = `${subject.prefix}Grant:{${grantId}}`;
      const grantIndex = `${subject.prefix}grant:{${grantId}}`;
      expect(await subject.redis.exists(grantRecord)).toBe(1);
      expect(await slotOf(grantRecord)).toBe(await slotOf(grantIndex));
      expect(await subject.redis.zcard(grantIndex)).toBe(tokens.length);

      const masters = new Set<string>();
      for (const id of tokens) masters.add(subject.redis.slots[await slotOf(`${subject.prefix}AccessToken:{${id}}`)]?.[0] ?? '?');
      expect(masters.size).toBeGreaterThan(1);
    });

    it('scores index members by expiry and expires the index a minute after its longest-lived member', async () => {
      const grantId = newId();
      const grantIndex = `${subject.prefix}grant:{${grantId}}`;
      const [short, long] = [newId(), newId()];
      const before = Date.now();
      await subject.factory('AccessToken').upsert(short, { jti: short, grantId }, 60);
      await subject.factory('RefreshToken').upsert(long, { jti: long, grantId }, 600);
      const score = Number(await subject.redis.zscore(grantIndex, `${subject.prefix}RefreshToken:{${long}}`));
      expect(score).toBeGreaterThanOrEqual(before + 600_000 - 1_000);
      expect(score).toBeLessThanOrEqual(Date.now() + 600_000 + 1_000);
      const ttl = await subject.redis.pttl(grantIndex);
      expect(ttl).toBeGreaterThan(655_000);
      expect(ttl).toBeLessThanOrEqual(660_000);

      // A member without expiry keeps the index without expiry.
      const forever = newId();
      await subject.factory('AccessToken').upsert(forever, { jti: forever, grantId });
      expect(await subject.redis.pttl(grantIndex)).toBe(-1);
    });

    it('prunes members by their own expiry, never one whose record is still to be written', async () => {
      const accountId = newId();
      const accountIndex = `${subject.prefix}account:{${accountId}}`;
      const [first, pending, next] = [newId(), newId(), newId()];
      await subject.factory('Session').upsert(first, { jti: first, accountId }, 60);
      const stale = `${subject.prefix}AccessToken:{${newId()}}`;
      const pendingKey = `${subject.prefix}AccessToken:{${pending}}`;
      // Expired two minutes ago; and one indexed whose record is not written yet.
      await subject.redis.zadd(accountIndex, Date.now() - 120_000, stale, Date.now() + 60_000, pendingKey);
      await subject.factory('Session').upsert(next, { jti: next, accountId }, 60);
      expect((await subject.redis.zrange(accountIndex, 0, '-1')).sort()).toEqual(
        [`${subject.prefix}Session:{${first}}`, pendingKey, `${subject.prefix}Session:{${next}}`].sort(),
      );
    });

    it('keeps a record a revocation could not find written yet indexed, so the next one gets it', async () => {
      const grantId = newId();
      const [written, pending] = [newId(), newId()];
      await subject.factory('AccessToken').upsert(written, { jti: written, grantId }, 60);
      // An upsert between its two steps: indexed, record not yet written.
      const pendingKey = `${subject.prefix}AccessToken:{${pending}}`;
      await subject.redis.zadd(`${subject.prefix}grant:{${grantId}}`, Date.now() + 60_000, pendingKey);

      await subject.factory('AccessToken').revokeByGrantId(grantId);
      expect(await subject.factory('AccessToken').find(written)).toBeUndefined();
      await subject.redis.set(pendingKey, JSON.stringify({ jti: pending, grantId }), 'EX', 60);
      expect(await subject.factory('AccessToken').find(pending)).toBeDefined();

      await subject.factory('AccessToken').revokeByGrantId(grantId);
      expect(await subject.factory('AccessToken').find(pending)).toBeUndefined();
      expect(await subject.redis.exists(`${subject.prefix}grant:{${grantId}}`)).toBe(0);
    });

    it('reports a concurrently revoked grant or session revoked exactly once', async () => {
      const accountId = newId();
      const [grantId, sessionId] = [newId(), newId()];
      await subject.factory('Grant').upsert(grantId, { jti: grantId, accountId, clientId: 'client-1' }, 60);
      await subject.factory('Session').upsert(sessionId, { jti: sessionId, uid: newId(), accountId }, 60);
      const grants = await Promise.all(Array.from({ length: 5 }, () => subject.accountState.revokeGrant(accountId, grantId)));
      const sessions = await Promise.all(Array.from({ length: 5 }, () => subject.accountState.revokeSession(accountId, sessionId)));
      expect(grants.filter(Boolean)).toHaveLength(1);
      expect(sessions.filter(Boolean)).toHaveLength(1);
    });

    it('refuses a prefix with an unclosed hash tag', () => {
      expect(() => createRedisAdapterFactory(subject.redis, 'idp{x:')).toThrow(/unclosed/);
    });

    it('puts every key in one slot when the prefix holds a hash tag', async () => {
      const prefix = `{one-slot-${run}}:`;
      const factory = createRedisAdapterFactory(subject.redis, prefix);
      const [accountId, grantId, session, token] = [newId(), newId(), newId(), newId()];
      await factory('Grant').upsert(grantId, { jti: grantId, accountId }, 60);
      await factory('Session').upsert(session, { jti: session, uid: newId(), accountId }, 60);
      await factory('AccessToken').upsert(token, { jti: token, grantId, accountId }, 60);
      const keys = [`${prefix}Grant:${grantId}`, `${prefix}Session:${session}`, `${prefix}AccessToken:${token}`, `${prefix}grant:${grantId}`, `${prefix}account:${accountId}`];
      for (const key of keys) expect(await subject.redis.exists(key), key).toBe(1);
      expect(new Set(await Promise.all(keys.map(slotOf))).size).toBe(1);
      expect(await createAccountStateRevoker({ redis: subject.redis, prefix, db: unusedDatabase })(accountId)).toBe(3);
    });

    describe('refresh rotations (one key each)', () => {
      refreshRotationsContract(() => createRedisRefreshRotations(subject.redis, subject.prefix));
    });

    it('keeps federation attempts, one key each', async () => {
      const attempts = createRedisAttemptStore(subject.redis, subject.prefix);
      const [a, b] = [newId(), newId()];
      await attempts.put(a, { state: a }, 60);
      await attempts.put(b, { state: b }, 60);
      expect(await attempts.get(a)).toEqual({ state: a });
      const takes = await Promise.all([attempts.take(a), attempts.take(a)]);
      expect(takes.filter((value) => value !== null)).toEqual([{ state: a }]);
      await attempts.delete(b);
      expect(await attempts.get(b)).toBeNull();
    });

    it('counts rate limits on the cluster', async () => {
      const limiter = createLimiterFactory({ redis: subject.redis, db: unusedDatabase, prefix: subject.prefix })('cluster-test', { points: 2, durationSeconds: 60 });
      const keys = Array.from({ length: 5 }, () => newId());
      for (const key of keys) {
        expect((await consume(limiter, key)).ok).toBe(true);
        expect((await consume(limiter, key)).ok).toBe(true);
        const third = await consume(limiter, key);
        expect(third.ok).toBe(false);
        if (!third.ok) expect(third.retryAfterSeconds).toBeGreaterThan(0);
      }
    });
  });
});
