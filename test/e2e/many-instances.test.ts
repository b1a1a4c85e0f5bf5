import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import { createTestDatabaseSettings, usingPostgres } from '../helpers/database.ts';
import { freePort } from '../helpers/ports.ts';
import { startProviderProcess, idpCli, type ProviderProcess } from '../helpers/provider-process.ts';
import { Browser } from '../helpers/browser.ts';
import { authorizationRequest, signInThroughPages, PASSWORD, REDIRECT_URI } from '../helpers/oidc.ts';

const shared = usingPostgres && Boolean(process.env.REDIS_URL);
if (!shared) console.warn('\n!! SKIPPED the two-instance test: it needs DATABASE_URL and REDIS_URL (the second CI pass runs it).\n');

/** A round-robin load balancer in front of the instances, remembering who served what. */
async function roundRobin(ports: number[]): Promise<{ server: Server; port: number; served: Array<{ backend: number; method: string; path: string }> }> {
  const served: Array<{ backend: number; method: string; path: string }> = [];
  let next = 0;
  const server = createServer((req, res) => {
    const backend = ports[next++ % ports.length]!;
    served.push({ backend, method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0]! });
    const upstream = httpRequest({ host: '127.0.0.1', port: backend, method: req.method, path: req.url, headers: req.headers }, (response) => {
      res.writeHead(response.statusCode ?? 502, response.headers);
      response.pipe(res);
    });
    upstream.on('error', () => {
      res.writeHead(502).end();
    });
    req.pipe(upstream);
  });
  const port = await freePort();
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  return { server, port, served };
}

describe.skipIf(!shared)('several instances on shared PostgreSQL and Redis', () => {
  let balancer: Awaited<ReturnType<typeof roundRobin>>;
  const instances: ProviderProcess[] = [];
  let drop: () => Promise<void>;
  let env: NodeJS.ProcessEnv;
  const secret = randomBytes(24).toString('base64url');

  beforeAll(async () => {
    const fresh = await createTestDatabaseSettings();
    drop = fresh.drop;
    const [portA, portB] = [await freePort(), await freePort()];
    balancer = await roundRobin([portA, portB]);
    env = {
      ...process.env, DATABASE_URL: fresh.settings.databaseUrl, DATA_DIR: fresh.settings.dataDir, LOG_LEVEL: 'warn',
      ISSUER: `http://127.0.0.1:${balancer.port}`, REDIS_KEY_PREFIX: `idp-multi:${randomBytes(4).toString('hex')}:`,
    };
    delete env.NODE_ENV;
    // One instance migrates and creates the keys; the other starts on the same database.
    instances.push(await startProviderProcess(env, portA));
    instances.push(await startProviderProcess(env, portB));
    await idpCli(env, 'user', 'create', '--email', 'ada@example.com', '--password', PASSWORD, '--verified', '--role', 'staff');
    await idpCli(env, 'client', 'create', '--id', 'web-app', '--secret', secret, '--redirect-uri', REDIRECT_URI, '--grant-types', 'authorization_code,refresh_token');
  }, 120_000);

  afterAll(async () => {
    for (const instance of instances) await instance.stop().catch(() => undefined);
    balancer?.server.close();
    await drop?.();
  });

  it('completes a sign-in whose requests alternate between instances, then refreshes on each', async () => {
    const config = await client.discovery(new URL(`http://127.0.0.1:${balancer.port}`), 'web-app', undefined, client.ClientSecretBasic(secret), { execute: [client.allowInsecureRequests] });
    const request = await authorizationRequest(config);
    const { callback } = await signInThroughPages(new Browser(), request.url, { email: 'ada@example.com', password: PASSWORD });
    expect(callback.startsWith(REDIRECT_URI)).toBe(true);
    let tokens = await client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true });
    for (let i = 0; i < 3; i++) tokens = await client.refreshTokenGrant(config, tokens.refresh_token!);
    const info = await client.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub);
    expect(info.email).toBe('ada@example.com');

    const [a, b] = [instances[0]!.port, instances[1]!.port];
    const flow = balancer.served.filter((entry) => entry.path.startsWith('/interaction') || entry.path.startsWith('/auth'));
    expect(new Set(flow.map((entry) => entry.backend))).toEqual(new Set([a, b]));
    const tokenRequests = balancer.served.filter((entry) => entry.path === '/token');
    expect(new Set(tokenRequests.map((entry) => entry.backend))).toEqual(new Set([a, b]));
  });
});
