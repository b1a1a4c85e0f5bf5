import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig } from './config/load.ts';
import { tuneHeapGrowth } from './config/heap-growth.ts';
import { buildDeps } from './deps.ts';
import { createApp } from './app.ts';
import { createAppLogger } from './log.ts';
import { closeOnSignals, exitOnStartupError } from './lifecycle.ts';
import { createMetricsServer, metricsOnMainPort } from './observability/http.ts';

const started = performance.now();

async function main(): Promise<void> {
  const config = loadConfig();
  tuneHeapGrowth(!config.databaseUrl);
  if (config.metrics.enabled && config.metrics.port !== undefined && config.metrics.port !== 0 && config.metrics.port === config.port) {
    throw new ConfigError(`invalid configuration: metrics.port: must differ from port (${config.port}), or be unset to serve /metrics on the main port`);
  }
  const logger = createAppLogger(config);
  const deps = await buildDeps(config, { role: 'server', logger });
  const app = createApp(deps);
  const servers: Server[] = [];
  const server = app.listen(config.port, config.host);
  servers.push(server);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  // A separate port for /metrics, so it can be firewalled off from the internet (see
  // observability/http.ts); createApp leaves it off the main port in that case.
  let metricsPort: number | undefined;
  if (deps.metrics && config.metrics.port !== undefined) {
    const metricsServer = createMetricsServer(deps.metrics).listen(config.metrics.port, config.host);
    servers.push(metricsServer);
    await once(metricsServer, 'listening');
    metricsPort = (metricsServer.address() as AddressInfo).port;
  }
  logger.info({
    issuer: config.issuer, port, metricsPort, storage: config.databaseUrl ? 'postgres' : 'embedded', state: deps.redis ? 'redis' : 'sql',
    startupMs: Math.round(performance.now() - started),
  }, 'identity provider listening');

  if (deps.metrics && config.metrics.port === undefined && !metricsOnMainPort(config)) {
    logger.warn('metrics are collected but not served: in production /metrics is served on METRICS_PORT, or on the main port with METRICS_PUBLIC=true');
  }

  closeOnSignals(servers, deps, logger, { deadlineMs: config.timeouts.shutdownMs });
}

main().catch(exitOnStartupError('idp'));
