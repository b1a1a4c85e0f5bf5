/**
 * Client-credentials token rate on loopback: starts the real provider (`node src/main.ts`) on a
 * fresh embedded database (or DATABASE_URL / REDIS_URL when set), registers a client and an API,
 * then drives POST /token with autocannon: JWT access tokens for the API (signed, not stored)
 * and opaque tokens (stored by the state adapter), in the same run so the ratio is meaningful.
 *
 *   npm run bench                 # 10 s per scenario
 *   BENCH_SECONDS=5 npm run bench
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
// @ts-expect-error autocannon ships no type declarations
import autocannon from 'autocannon';

const root = fileURLToPath(new URL('../', import.meta.url));
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 16);
const dataDir = mkdtempSync(join(tmpdir(), 'idp-bench-'));
const secret = 'bench-secret-bench-secret-bench-secret-0001';
const api = 'https://api.bench.test/';

const probe = createServer().listen(0, '127.0.0.1');
await once(probe, 'listening');
const port = (probe.address() as { port: number }).port;
probe.close();

const env = { ...process.env, REDIS_KEY_PREFIX: `idp-bench:${process.pid}:`, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ISSUER: `http://127.0.0.1:${port}` };

function idp(...args: string[]): void {
  const result = spawnSync(process.execPath, ['src/cli/main.ts', ...args], { cwd: root, env, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`idp ${args.join(' ')}: ${result.stderr}`);
}
idp('client', 'create', '--id', 'bench', '--secret', secret, '--grant-types', 'client_credentials');
idp('resource', 'create', '--indicator', api, '--scopes', 'read write');
idp('resource', 'grant', '--client', 'bench', '--indicator', api, '--scopes', 'read');

const server = spawn(process.execPath, ['src/main.ts'], { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });
const base = `http://127.0.0.1:${port}`;
for (let i = 0; ; i++) {
  if (await fetch(`${base}/.well-known/openid-configuration`).then((r) => r.ok, () => false)) break;
  if (i > 200) throw new Error('provider did not start');
  await new Promise((resolve) => setTimeout(resolve, 50));
}

const authorization = `Basic ${Buffer.from(`bench:${secret}`).toString('base64')}`;
async function run(title: string, body: string): Promise<number> {
  const result = await autocannon({
    url: `${base}/token`,
    method: 'POST',
    headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
    body,
    connections,
    duration: seconds,
  });
  const ok = result['2xx'] as number;
  const failed = (result.non2xx as number) + (result.errors as number);
  const rate = ok / seconds;
  console.log(`${title}: ${rate.toFixed(0)} tokens/s (p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ${failed} failed)`);
  return rate;
}

try {
  console.log(`POST /token client_credentials, ${connections} connections, ${seconds} s each, storage: ${process.env.DATABASE_URL ? 'postgres' : 'embedded'}, state: ${process.env.REDIS_URL ? 'redis' : 'sql'}`);
  const jwt = await run('JWT access token for a resource', new URLSearchParams({ grant_type: 'client_credentials', resource: api, scope: 'read' }).toString());
  const opaque = await run('opaque access token (stored)', 'grant_type=client_credentials');
  console.log(`ratio JWT / opaque: ${(jwt / opaque).toFixed(2)}`);
} finally {
  server.kill('SIGTERM');
  await once(server, 'exit');
  rmSync(dataDir, { recursive: true, force: true });
}
