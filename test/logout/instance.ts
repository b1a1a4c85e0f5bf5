import { createServer } from 'node:http';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config/load.ts';
import { buildDeps } from '../../src/deps.ts';
import { createApp } from '../../src/app.ts';
import { createTestDatabaseSettings } from '../helpers/database.ts';
import type { TestApp } from '../helpers/app.ts';

/** Storage that outlives the instances started on it: a database (embedded or PostgreSQL) and a Redis key prefix. */
export interface SharedStorage {
  settings: { databaseUrl?: string; dataDir: string };
  redisPrefix: string;
  /** The port every instance listens on, so they share one issuer. */
  port: number;
  drop(): Promise<void>;
}

export async function createSharedStorage(): Promise<SharedStorage> {
  const fresh = await createTestDatabaseSettings();
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const redisPrefix = `idp-test:${randomBytes(6).toString('hex')}:`;
  return {
    settings: fresh.settings,
    redisPrefix,
    port,
    async drop() {
      if (process.env.REDIS_URL) {
        const redis = new Redis(process.env.REDIS_URL);
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 500);
          if (keys.length) await redis.del(...keys);
          cursor = next;
        } while (cursor !== '0');
        await redis.quit();
      }
      await fresh.drop();
    },
  };
}

/**
 * One provider instance on shared storage, as `npm start` would run it: stopping it (close)
 * leaves the data for the next one, embedded included (which only one process opens at a time).
 */
export async function startInstance(storage: SharedStorage, env: Record<string, string> = {}): Promise<TestApp> {
  const issuer = `http://127.0.0.1:${storage.port}`;
  const config = loadConfig({
    ISSUER: issuer,
    PORT: String(storage.port),
    DATA_DIR: storage.settings.dataDir,
    LOG_LEVEL: 'silent',
    REDIS_KEY_PREFIX: storage.redisPrefix,
    ...(storage.settings.databaseUrl ? { DATABASE_URL: storage.settings.databaseUrl } : {}),
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    ...env,
  }, storage.settings.dataDir);
  const deps = await buildDeps(config, { role: 'server' });
  const server = createServer(createApp(deps).callback());
  server.listen(storage.port, '127.0.0.1');
  await once(server, 'listening');
  return {
    issuer,
    deps,
    storage: { settings: storage.settings, redisPrefix: storage.redisPrefix },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await deps.close();
    },
  };
}
