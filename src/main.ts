import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { loadConfig } from './config/load.ts';
import { buildDeps } from './deps.ts';
import { createApp } from './app.ts';
import { createLogger } from './log.ts';
import { closeOnSignals, exitOnStartupError } from './lifecycle.ts';

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

  closeOnSignals([server], () => deps.close(), logger);
}

main().catch(exitOnStartupError('idp'));
