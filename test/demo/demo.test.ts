import { afterAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { createTestDatabaseSettings } from '../helpers/database.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { freePort } from '../helpers/ports.ts';
import { createDemoApi } from '../../demo/api.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

describe('npm run demo', async () => {
  const fresh = await createTestDatabaseSettings();
  const [port, rpPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const rp = `http://localhost:${rpPort}`;
  const provider = `http://localhost:${port}`;
  const api = `http://localhost:${apiPort}/api/hello`;
  const redisPrefix = `idp-demo-test:${randomBytes(6).toString('hex')}:`;
  const children: ChildProcess[] = [];

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    DEMO_RP_PORT: String(rpPort),
    DEMO_API_PORT: String(apiPort),
    HOST: '127.0.0.1',
    DATA_DIR: fresh.settings.dataDir,
    LOG_LEVEL: 'silent',
    REDIS_KEY_PREFIX: redisPrefix,
    // A demo starting beside the browser suites on a loaded 2-core CI host once took 13 s, and
    // its start-up queries gave up waiting 2 s for a database connection; the demo's behaviour
    // is what is tested here, not how fast a busy host starts it.
    DATABASE_POOL_TIMEOUT_MS: '10000',
  };
  delete env.ISSUER;
  delete env.NODE_ENV;
  delete env.IDP_CONFIG;
  if (fresh.settings.databaseUrl) env.DATABASE_URL = fresh.settings.databaseUrl;
  else delete env.DATABASE_URL;

  async function start(): Promise<{ child: ChildProcess; output: () => string }> {
    // One demo at a time owns the data directory; a failed test may have left one running.
    for (const running of children.filter((child) => child.exitCode === null && child.signalCode === null)) {
      const exited = once(running, 'exit');
      running.kill('SIGKILL');
      await exited;
    }
    const child = spawn(process.execPath, ['demo/main.ts'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    child.stdout!.on('data', (chunk) => (output += chunk));
    child.stderr!.on('data', (chunk) => (output += chunk));
    const deadline = Date.now() + 90_000;
    while (!output.includes('Demo is running.')) {
      if (child.exitCode !== null) throw new Error(`demo exited with ${child.exitCode}: ${output}`);
      if (Date.now() > deadline) throw new Error(`demo not ready after 30 s: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return { child, output: () => output };
  }

  async function stop(child: ChildProcess): Promise<number | null> {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
    return child.exitCode;
  }

  /** Signs in at the relying party like a person would; returns the page the flow ends on. */
  async function signIn(browser: Browser): Promise<{ url: string; status: number; html: string; consentShown: boolean }> {
    const home = await browser.navigate(`${rp}/`);
    expect(home.html).toContain('href="/login"');

    const login = await browser.navigate(`${rp}/login`);
    expect(login.url.startsWith(`${provider}/interaction/`)).toBe(true);
    const loginForm = readForm(login.html, '/login');
    let page = await browser.navigate(new URL(loginForm.action, login.url).href, {
      ...loginForm.fields, email: 'demo@example.com', password: 'demo-password-123',
    });

    let consentShown = false;
    if (page.url.startsWith(`${provider}/interaction/`)) {
      consentShown = true;
      expect(page.html).toContain(`http://localhost:${apiPort}/api`);
      const consentForm = readForm(page.html, '/confirm');
      page = await browser.navigate(new URL(consentForm.action, page.url).href, consentForm.fields);
    }
    return { ...page, consentShown };
  }

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
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
  });

  it('signs the demo user in at the relying party, calls the API, signs out, and reuses its seed after a restart', async () => {
    const first = await start();
    expect(first.output()).toContain('demo@example.com');
    expect(first.output()).toContain('demo-password-123');
    expect(first.output()).toContain('Created: account demo@example.com, client demo-rp');

    const browser = new Browser();
    const callback = await signIn(browser);
    expect(callback.consentShown).toBe(true);
    expect(callback.url.startsWith(`${rp}/callback?`)).toBe(true);
    expect(callback.status).toBe(200);
    expect(callback.html).toContain('&quot;email&quot;: &quot;demo@example.com&quot;');
    // Effective roles: admin, and api-user through the composite admin role.
    expect(callback.html).toMatch(/&quot;roles&quot;: \[\s*&quot;admin&quot;,\s*&quot;api-user&quot;\s*\]/);
    expect(callback.html).toContain(`GET ${api} &rarr; 200`);
    expect(callback.html).toContain('Hello from the demo API');
    expect(callback.html).toContain(`&quot;aud&quot;: &quot;http://localhost:${apiPort}/api&quot;`);

    const signedIn = await browser.navigate(`${rp}/`);
    expect(signedIn.html).toContain('Signed in as <strong>demo@example.com</strong>');

    // RP-initiated logout: the provider asks, the person confirms, and lands back at the RP.
    const logout = await browser.navigate(`${rp}/logout`, {});
    expect(logout.url.startsWith(`${provider}/session/end`)).toBe(true);
    const logoutForm = readForm(logout.html, '/session/end/confirm');
    const back = await browser.navigate(new URL(logoutForm.action, logout.url).href, { ...logoutForm.fields, logout: 'yes' });
    expect(back.url).toBe(`${rp}/`);
    expect(back.html).toContain('You are not signed in.');

    expect(await stop(first.child)).toBe(0);

    const second = await start();
    expect(second.output()).toContain('Reused the existing demo user, client and API.');
    const again = await signIn(new Browser());
    expect(again.url.startsWith(`${rp}/callback?`)).toBe(true);
    expect(again.html).toContain('&quot;email&quot;: &quot;demo@example.com&quot;');
    expect(again.html).toContain('Hello from the demo API');
    expect(await stop(second.child)).toBe(0);
  }, 240_000);

  it('shows a failed sign-in instead of crashing when the callback has no transaction', async () => {
    const demo = await start();
    const response = await fetch(`${rp}/callback?code=x&state=y`);
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('No sign-in is in progress');
    // The API refuses requests without a valid access token for itself.
    const bare = await fetch(api);
    expect(bare.status).toBe(401);
    expect(bare.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const forged = await fetch(api, { headers: { authorization: 'Bearer abc.def.ghi' } });
    expect(forged.status).toBe(401);
    expect(forged.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(await stop(demo.child)).toBe(0);
  }, 150_000);
});

describe('demo API', async () => {
  const issuerKeys = await generateKeyPair('RS256');
  const otherKeys = await generateKeyPair('RS256');
  const jwks = { keys: [{ ...(await exportJWK(issuerKeys.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] };
  const jwksServer = createHttpServer((_req, res) => res.setHeader('content-type', 'application/json').end(JSON.stringify(jwks)));
  jwksServer.listen(0, '127.0.0.1');
  await once(jwksServer, 'listening');
  const issuer = `http://127.0.0.1:${(jwksServer.address() as AddressInfo).port}`;
  const audience = 'http://localhost:1/api';
  const apiServer = createDemoApi({ issuer, audience }).listen(0, '127.0.0.1');
  await once(apiServer, 'listening');
  const endpoint = `http://127.0.0.1:${(apiServer.address() as AddressInfo).port}/api/hello`;

  afterAll(() => {
    jwksServer.close();
    apiServer.close();
  });

  const token = (claims: Record<string, unknown>, options: { key?: typeof issuerKeys.privateKey; typ?: string; aud?: string } = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: options.typ ?? 'at+jwt' })
      .setIssuer(issuer)
      .setAudience(options.aud ?? audience)
      .setSubject('user-1')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(options.key ?? issuerKeys.privateKey);

  const call = (jwt: string) => fetch(endpoint, { headers: { authorization: `Bearer ${jwt}` } });

  it('answers a token with the read scope', async () => {
    const response = await call(await token({ scope: 'read write' }));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ message: 'Hello from the demo API, user-1!', sub: 'user-1', scope: 'read write' });
  });

  it('refuses a valid token without the read scope with 403 insufficient_scope', async () => {
    const response = await call(await token({ scope: 'write' }));
    expect(response.status).toBe(403);
    expect(response.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    expect(response.headers.get('www-authenticate')).toContain('scope="read"');
  });

  it('refuses tokens for another audience, of another type or signed by another key with 401 invalid_token', async () => {
    for (const jwt of [
      await token({ scope: 'read' }, { aud: 'http://localhost:2/other' }),
      await token({ scope: 'read' }, { typ: 'JWT' }),
      await token({ scope: 'read' }, { key: otherKeys.privateKey }),
    ]) {
      const response = await call(jwt);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toContain('error="invalid_token"');
    }
  });
});
