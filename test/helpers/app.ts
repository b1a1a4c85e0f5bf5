import { createServer } from 'node:http';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { loadConfig } from '../../src/config/load.ts';
import { buildDeps, type Deps } from '../../src/deps.ts';
import { createApp } from '../../src/app.ts';
import { createTestDatabaseSettings } from './database.ts';
import { createLogger, type Logger } from '../../src/log.ts';
import type { Clock } from '../../src/clock.ts';

/** A logger that keeps every line as an object, for tests that read the audit trail. */
export function captureLogs(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, lines };
}

export interface TestApp {
  issuer: string;
  deps: Deps;
  /** Where its data lives, for a second instance on the same storage. */
  storage: { settings: { databaseUrl?: string; dataDir: string }; redisPrefix: string };
  close(): Promise<void>;
}

/**
 * The real application on a random loopback port, on a fresh database: embedded PGlite by
 * default, or PostgreSQL and Redis when DATABASE_URL / REDIS_URL are set (CI runs both).
 * `sharing`: another instance on that app's PostgreSQL database and Redis keys (not embedded),
 * which its close() leaves to the first. `clock`: the time its services decide by (a testClock()
 * that the test moves, instead of sleeping through lock windows and link lifetimes).
 */
/**
 * `hostname: 'localhost'` makes the issuer http://localhost:<port> (still listening on 127.0.0.1):
 * browsers refuse an IP address as a WebAuthn relying-party id, so real-browser passkey tests need a name.
 */
export async function startTestApp(env: Record<string, string> = {}, options: { logger?: Logger; sharing?: TestApp; clock?: Clock; hostname?: 'localhost' } = {}): Promise<TestApp> {
  if (options.sharing && !options.sharing.storage.settings.databaseUrl) throw new Error('only an app on PostgreSQL can be shared');
  const ownDir = options.sharing ? mkdtempSync(join(tmpdir(), 'idp-')) : '';
  const fresh = options.sharing
    ? { settings: { ...options.sharing.storage.settings, dataDir: ownDir }, drop: async () => rmSync(ownDir, { recursive: true, force: true }) }
    : await createTestDatabaseSettings();
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const issuer = `http://${options.hostname ?? '127.0.0.1'}:${port}`;
  const redisPrefix = options.sharing?.storage.redisPrefix ?? `idp-test:${randomBytes(6).toString('hex')}:`;
  const config = loadConfig({
    ISSUER: issuer,
    PORT: String(port),
    DATA_DIR: fresh.settings.dataDir,
    LOG_LEVEL: 'silent',
    REDIS_KEY_PREFIX: redisPrefix,
    ...(fresh.settings.databaseUrl ? { DATABASE_URL: fresh.settings.databaseUrl } : {}),
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
    ...env,
  }, fresh.settings.dataDir);
  const deps = await buildDeps(config, { role: 'server', ...(options.logger ? { logger: options.logger } : {}), ...(options.clock ? { clock: options.clock } : {}) });
  server.on('request', createApp(deps).callback());
  return {
    issuer,
    deps,
    storage: { settings: fresh.settings, redisPrefix },
    async close() {
      server.closeAllConnections();
      server.close();
      if (deps.redis && !options.sharing) {
        // Remove this run's keys; SCAN keeps Redis responsive where KEYS would block it.
        let cursor = '0';
        do {
          const [next, keys] = await deps.redis.scan(cursor, 'MATCH', `${redisPrefix}*`, 'COUNT', 500);
          if (keys.length) await deps.redis.del(...keys);
          cursor = next;
        } while (cursor !== '0');
      }
      await deps.close();
      await fresh.drop();
    },
  };
}
