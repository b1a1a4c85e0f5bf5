import { afterAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { createTestDatabaseSettings } from '../helpers/database.ts';
import { freePort } from '../helpers/ports.ts';
import { startProviderProcess, idpCli } from '../helpers/provider-process.ts';

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
