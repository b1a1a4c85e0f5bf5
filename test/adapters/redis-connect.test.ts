import { describe, expect, it } from 'vitest';
import { Cluster, Redis } from 'ioredis';
import { createRedisClient, parseRedisUrl, redisClientPlan, redisUrlProblem } from '../../src/db/redis-connect.ts';

// No server is needed: the URL is only parsed, and clients are created lazily and never connect.

describe('REDIS_URL parsing', () => {
  it('hands redis:// and rediss:// to ioredis unchanged, with auto-pipelining on', () => {
    expect(redisClientPlan('redis://:pw@cache:6380/2', { lazyConnect: true })).toEqual({
      kind: 'standalone',
      url: 'redis://:pw@cache:6380/2',
      options: { lazyConnect: true, enableAutoPipelining: true, maxRetriesPerRequest: 2 },
    });
    expect(parseRedisUrl('rediss://cache.example')).toEqual({ kind: 'standalone', url: 'rediss://cache.example' });
  });

  it('reads sentinels, master name, db and credentials from redis+sentinel://', () => {
    const url = 'redis+sentinel://app:s%40c%3Aret@10.0.0.1:26380,sentinel-b,[::1]:26381/my%20master?db=3&sentinelPassword=sent%26pw';
    expect(redisClientPlan(url, { lazyConnect: true })).toEqual({
      kind: 'sentinel',
      options: {
        lazyConnect: true,
        enableAutoPipelining: true,
        maxRetriesPerRequest: 2,
        sentinels: [
          { host: '10.0.0.1', port: 26380 },
          { host: 'sentinel-b', port: 26379 },
          { host: '::1', port: 26381 },
        ],
        name: 'my master',
        db: 3,
        username: 'app',
        password: 's@c:ret',
        sentinelPassword: 'sent&pw',
      },
    });
    expect(parseRedisUrl('redis+sentinel://s1/mymaster')).toEqual({ kind: 'sentinel', sentinels: [{ host: 's1', port: 26379 }], name: 'mymaster', db: 0 });
    expect(parseRedisUrl('redis+sentinel://:pw@s1,s2/mymaster?sentinelUsername=watch')).toMatchObject({ password: 'pw', sentinelUsername: 'watch' });
  });

  it('creates a Sentinel-managed Redis client with those options', () => {
    const client = createRedisClient('redis+sentinel://:pw@s1:26379,s2:26379/mymaster?db=1', { lazyConnect: true });
    try {
      expect(client).toBeInstanceOf(Redis);
      expect(client.isCluster).toBe(false);
      expect((client as Redis).options).toMatchObject({
        sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }],
        name: 'mymaster',
        db: 1,
        password: 'pw',
        lazyConnect: true,
        maxRetriesPerRequest: 2,
      });
      expect(client.status).toBe('wait');
    } finally {
      client.disconnect();
    }
  });

  it('reads seed nodes and credentials from redis+cluster://', () => {
    expect(redisClientPlan('redis+cluster://:pw@127.0.0.1:7000,127.0.0.1:7001,node-c/', { lazyConnect: true })).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '127.0.0.1', port: 7000 },
        { host: '127.0.0.1', port: 7001 },
        { host: 'node-c', port: 6379 },
      ],
      options: { lazyConnect: true, enableAutoPipelining: true, redisOptions: { maxRetriesPerRequest: 2, password: 'pw' } },
    });
    const client = createRedisClient('redis+cluster://127.0.0.1:7000,127.0.0.1:7001', { lazyConnect: true });
    try {
      expect(client).toBeInstanceOf(Cluster);
      expect(client.isCluster).toBe(true);
      expect(client.status).toBe('wait');
    } finally {
      client.disconnect();
    }
  });

  it('makes an invalidation listener speak RESP2 and leaves resubscribing to the record cache', () => {
    for (const url of ['redis://cache:6379', 'redis+sentinel://s1/mymaster']) {
      expect(redisClientPlan(url, { listener: true, timeouts: { redisConnectMs: 2000, redisCommandMs: 1500 } }).options).toMatchObject({
        protocol: 2, autoResubscribe: false, commandTimeout: 1500,
      });
      expect(redisClientPlan(url).options).not.toHaveProperty('protocol');
    }
  });

  it('gives every form connect and command deadlines, so a Redis that stops answering fails commands instead of holding them', () => {
    const timeouts = { redisConnectMs: 2000, redisCommandMs: 1500 };
    expect(redisClientPlan('redis://cache:6379', { timeouts })).toEqual({
      kind: 'standalone',
      url: 'redis://cache:6379',
      options: { enableAutoPipelining: true, maxRetriesPerRequest: 2, connectTimeout: 2000, commandTimeout: 1500 },
    });
    expect(redisClientPlan('redis+sentinel://s1/mymaster', { timeouts }).options).toMatchObject({
      connectTimeout: 2000, commandTimeout: 1500, sentinelCommandTimeout: 1500, maxRetriesPerRequest: 2, enableAutoPipelining: true,
    });
    expect(redisClientPlan('redis+cluster://:pw@n1:7000', { timeouts }).options).toEqual({
      enableAutoPipelining: true,
      redisOptions: { maxRetriesPerRequest: 2, connectTimeout: 2000, commandTimeout: 1500, password: 'pw' },
    });
    const client = createRedisClient('redis://127.0.0.1:1', { lazyConnect: true, timeouts });
    try {
      expect((client as Redis).options).toMatchObject({ connectTimeout: 2000, commandTimeout: 1500, maxRetriesPerRequest: 2 });
    } finally {
      client.disconnect();
    }
  });

  it.each([
    ['mysql://db', /must be redis:\/\/… or rediss:\/\/… \(standalone\), redis\+sentinel:\/\/.*\(Sentinel\), or redis\+cluster:\/\/.*\(Cluster\)/],
    ['redis+sentinel://s1:26379', /needs the master name/],
    ['redis+sentinel://s1:26379/', /needs the master name/],
    ['redis+sentinel://s1/a/b', /needs the master name/],
    ['redis+sentinel:///mymaster', /at least one sentinel host/],
    ['redis+sentinel://s1:99999/mymaster', /bad port/],
    ['redis+sentinel://s1,,s2/mymaster', /bad sentinel address \(#2\)/],
    ['redis+sentinel://s1/mymaster?db=x', /db must be a database number/],
    ['redis+sentinel://s1/mymaster?dbb=1', /unknown parameter "dbb"/],
    ['redis+sentinel://s1/mymaster?db=1&db=2', /given twice/],
    ['redis+cluster://n1:7000/1', /takes no path/],
    ['redis+cluster://n1:7000?db=1', /takes no parameters/],
    ['redis+cluster://', /at least one cluster seed host/],
    ['redis+cluster://hunter2@n1:7000', /\[username\]:password@/],
    ['redis+cluster://:%zz@n1:7000', /bad percent-encoding in the password/],
  ])('refuses %s', (url, message) => {
    expect(redisUrlProblem(url)).toMatch(message);
    expect(() => createRedisClient(url)).toThrow(message);
  });

  it('never repeats a password in its messages', () => {
    for (const url of ['redis+cluster://:hunter2@n1:7000/0', 'redis+cluster://:hun@ter2@n1:7000', 'redis+sentinel://:hunter2/x@s1/m', 'redis+sentinel://:hunter?2@s1/m', 'redis+cluster://:hunter2#x@n1', 'redis+sentinel://:hunter2@s1:1/m?db=x', 'redis+sentinel://:hunter2@s1:0/m']) {
      const problem = redisUrlProblem(url);
      expect(problem).not.toBeNull();
      expect(problem).not.toContain('hunter2');
    }
  });
});
