import { once } from 'node:events';
import type { Server } from 'node:http';
import type Koa from 'koa';
import { loadConfig, ConfigError } from '../src/config/load.ts';
import { buildDeps } from '../src/deps.ts';
import { createApp } from '../src/app.ts';
import { createAppLogger } from '../src/log.ts';
import { closeOnSignals, exitOnStartupError } from '../src/lifecycle.ts';
import { seedDemo } from './seed.ts';
import { createRelyingParty } from './relying-party.ts';
import { createDemoApi } from './api.ts';

/**
 * `npm run demo`: the provider, an example relying party and an example API in one process,
 * seeded with a user, a client and an API resource. Ports: PORT (3000), DEMO_RP_PORT (3001),
 * DEMO_API_PORT (3002).
 */

function portFrom(name: string, fallback: number): number {
  const value = process.env[name];
  if (value === undefined || value === '') return fallback;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) throw new ConfigError(`${name}: must be a port number from 1 to 65535, got ${value}`);
  return port;
}

async function listen(app: Koa, port: number, host: string): Promise<Server> {
  const server = app.listen(port, host);
  await once(server, 'listening');
  return server;
}

async function main(): Promise<void> {
  // The demo user has a published password: listen on loopback unless HOST says otherwise.
  const config = loadConfig({ ...process.env, HOST: process.env.HOST || '127.0.0.1' });
  const rpPort = portFrom('DEMO_RP_PORT', 3001);
  const apiPort = portFrom('DEMO_API_PORT', 3002);
  const rpUrl = `http://localhost:${rpPort}`;
  const apiUrl = `http://localhost:${apiPort}`;
  const apiIndicator = `${apiUrl}/api`;

  const logger = createAppLogger(config);
  const deps = await buildDeps(config, { role: 'server', logger });
  const servers: Server[] = [];
  try {
    const seed = await seedDemo(deps, config.dataDir, { rpUrl, apiIndicator });
    servers.push(await listen(createApp(deps), config.port, config.host));
    servers.push(await listen(createDemoApi({ issuer: config.issuer, audience: apiIndicator }), apiPort, config.host));
    servers.push(await listen(createRelyingParty({
      issuer: config.issuer,
      clientId: seed.clientId,
      clientSecret: seed.clientSecret,
      baseUrl: rpUrl,
      scope: 'openid profile email offline_access roles',
      apiIndicator,
      apiScope: 'read',
      apiEndpoint: `${apiUrl}/api/hello`,
    }), rpPort, config.host));

    console.log([
      '',
      'Demo is running.',
      '',
      `  Relying party   ${rpUrl}/           <- open this and click "Sign in"`,
      `  Provider        ${config.issuer}/.well-known/openid-configuration`,
      `  API             ${apiUrl}/api/hello   (needs a Bearer token for ${apiIndicator} with scope read)`,
      '',
      `  Sign in as      ${seed.email}`,
      `  Password        ${seed.password}`,
      `  Client          ${seed.clientId} (secret in ${config.dataDir}/demo-client.json)`,
      '',
      seed.created.length ? `  Created: ${seed.created.join(', ')}` : '  Reused the existing demo user, client and API.',
      '  Stop with Ctrl+C.',
      '',
    ].join('\n'));
  } catch (error) {
    for (const server of servers) server.close();
    await deps.close();
    throw error;
  }

  closeOnSignals(servers, deps, logger, { deadlineMs: config.timeouts.shutdownMs });
}

main().catch(exitOnStartupError('demo'));
