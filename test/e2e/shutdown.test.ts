import { afterAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { createTestDatabaseSettings } from '../helpers/database.ts';
import { freePort } from '../helpers/ports.ts';
import { startProviderProcess, idpCli, type ProviderProcess } from '../helpers/provider-process.ts';
import { startFreezeProxy, type FreezeProxy } from '../helpers/freeze-proxy.ts';
import { postgresServerAvailable, startPrivatePostgres, type PrivateService } from '../helpers/private-services.ts';

describe('graceful shutdown', () => {
  let drop: (() => Promise<void>) | undefined;
  afterAll(async () => drop?.());

  it('on SIGTERM stops accepting, finishes the request in flight, closes its pools and exits 0', async () => {
    const fresh = await createTestDatabaseSettings();
    drop = fresh.drop;
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: fresh.settings.dataDir, LOG_LEVEL: 'info', REDIS_KEY_PREFIX: `idp-stop:${randomBytes(4).toString('hex')}:` };
    delete env.NODE_ENV;
    if (fresh.settings.databaseUrl) env.DATABASE_URL = fresh.settings.databaseUrl;
    else delete env.DATABASE_URL;
    const secret = randomBytes(24).toString('base64url');
    const port = await freePort();
    const provider = await startProviderProcess({ ...env, ISSUER: `http://127.0.0.1:${port}` }, port);
    await idpCli({ ...env, ISSUER: `http://127.0.0.1:${port}` }, 'client', 'create', '--id', 'svc', '--secret', secret, '--grant-types', 'client_credentials');

    // A token request in flight: headers and half of the body sent, the rest after SIGTERM.
    const body = 'grant_type=client_credentials';
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    let response = '';
    socket.on('data', (chunk) => (response += chunk));
    socket.write([
      'POST /token HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Content-Type: application/x-www-form-urlencoded',
      `Authorization: Basic ${Buffer.from(`svc:${secret}`).toString('base64')}`, `Content-Length: ${body.length}`, 'Connection: close', '', body.slice(0, 10),
    ].join('\r\n'));
    await new Promise((resolve) => setTimeout(resolve, 200));

    const exited = provider.stop('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    // New connections are refused while the old one finishes.
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    socket.write(body.slice(10));
    await once(socket, 'end');
    expect(response).toMatch(/^HTTP\/1\.1 200/);
    expect(response).toContain('"access_token"');

    expect(await exited).toBe(0);
    expect(provider.output()).toMatch(/shutting down/);
  }, 60_000);
});

describe.skipIf(!postgresServerAvailable)('shutdown deadline', () => {
  let postgres: PrivateService | undefined;
  let proxy: FreezeProxy | undefined;
  let provider: ProviderProcess | undefined;
  let drop: (() => Promise<void>) | undefined;
  afterAll(async () => {
    await provider?.stop('SIGKILL');
    proxy?.thaw();
    await proxy?.close();
    await postgres?.destroy();
    await drop?.();
  });

  it('exits within SHUTDOWN_TIMEOUT_MS when PostgreSQL stops answering, a request waiting on it in flight', async () => {
    // Half of it for requests in flight: longer than the database's own deadlines (2 s by default).
    const deadlineMs = 8000;
    postgres = await startPrivatePostgres();
    proxy = await startFreezeProxy(postgres.url);
    const fresh = await createTestDatabaseSettings();
    drop = fresh.drop;
    const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: fresh.settings.dataDir, LOG_LEVEL: 'info', DATABASE_URL: proxy.url, SHUTDOWN_TIMEOUT_MS: String(deadlineMs) };
    delete env.NODE_ENV;
    delete env.REDIS_URL;
    const port = await freePort();
    provider = await startProviderProcess({ ...env, ISSUER: `http://127.0.0.1:${port}` }, port);

    proxy.freeze();
    // An unknown client is looked up in the database: this request waits on the frozen server.
    const inFlight = fetch(`http://127.0.0.1:${port}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from('nobody:secret').toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    }).then((response) => response.status, () => 0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = performance.now();
    const code = await provider.stop('SIGTERM');
    const took = performance.now() - started;
    // Before the deadlines, the change feed's goodbye to the frozen server was awaited forever.
    expect([0, 1]).toContain(code);
    expect(took).toBeLessThan(deadlineMs + 10_000);
    // It still got its answer: the database's deadline ended its wait before the shutdown's did.
    expect(await inFlight).toBe(503);
    expect(provider.output()).toMatch(/shutting down/);
  }, 90_000);
});

describe('shutdown deadline, on its own', () => {
  it('cuts requests still in flight at half the deadline, gives up on a close() that never ends, says what it left, exits 1', async () => {
    const deadlineMs = 1000;
    const lifecycle = new URL('../../src/lifecycle.ts', import.meta.url).href;
    // A server whose requests never finish and resources that never close.
    const script = `
      import { createServer } from 'node:http';
      import { closeOnSignals } from ${JSON.stringify(lifecycle)};
      const line = (level) => (fields, msg) => console.log(JSON.stringify({ level, ...fields, msg }));
      const logger = { info: line('info'), warn: line('warn'), error: line('error') };
      const server = createServer(() => undefined).listen(0, '127.0.0.1', () => {
        closeOnSignals([server], { close: () => new Promise(() => undefined), unclosed: () => ['stuck pool'] }, logger, { deadlineMs: ${deadlineMs} });
        console.log(JSON.stringify({ port: server.address().port }));
      });
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stderr.on('data', (chunk) => (output += chunk));
    const port = await new Promise<number>((resolve) => {
      child.stdout.on('data', (chunk) => {
        output += chunk;
        const match = /"port":(\d+)/.exec(output);
        if (match) resolve(Number(match[1]));
      });
    });
    const stuck = fetch(`http://127.0.0.1:${port}/`).then(() => 'answered', () => 'cut');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = performance.now();
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit') as [number | null];
    const took = performance.now() - started;
    expect(code).toBe(1);
    expect(took).toBeGreaterThanOrEqual(deadlineMs - 50);
    expect(took).toBeLessThan(deadlineMs + 10_000);
    expect(await stuck).toBe('cut');
    expect(output).toMatch(/"level":"warn".*requests still in flight were cut/);
    expect(output).toMatch(/"level":"error","deadlineMs":1000,"unfinished":\["stuck pool"\],"msg":"shutdown deadline passed/);
  }, 30_000);
});
