import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { loadConfig, ConfigError } from './config/load.ts';
import { buildDeps } from './deps.ts';
import { createApp } from './app.ts';
import { createLogger } from './log.ts';

const started = performance.now();

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel);
  const deps = await buildDeps(config, { role: 'server', logger });
  const app = createApp(deps);
  const server = app.listen(config.port, config.host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  logger.info({ issuer: config.issuer, port, storage: config.databaseUrl ? 'postgres' : 'embedded', state: deps.redis ? 'redis' : 'sql', startupMs: Math.round(performance.now() - started) }, 'identity provider listening');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server.close();
    server.closeIdleConnections();
    const force = setTimeout(() => server.closeAllConnections(), 5000);
    force.unref();
    await once(server, 'close').catch(() => undefined);
    await deps.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || (error as Error).name === 'EmbeddedDatabaseError' || (error as Error).name === 'MigrationError') {
    console.error(`idp: ${(error as Error).message}`);
  } else {
    console.error('idp: failed to start:', error);
  }
  process.exit(1);
});
