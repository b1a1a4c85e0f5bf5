import { afterAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { seedWebClient, authorizationRequest, signInThroughPages, PASSWORD } from '../helpers/oidc.ts';
import { Browser } from '../helpers/browser.ts';
import { postgresServerAvailable, redisServerAvailable, startPrivatePostgres, startPrivateRedis, type PrivateService } from '../helpers/private-services.ts';

if (!redisServerAvailable) console.warn('\n!! SKIPPED the Redis outage test: redis-server is not installed.\n');
if (!postgresServerAvailable) console.warn('\n!! SKIPPED the PostgreSQL outage test: no initdb/pg_ctl found.\n');

/** A signed-in person's tokens, written to storage before the outage. */
async function signIn(app: TestApp, rp: Awaited<ReturnType<typeof seedWebClient>>) {
  const request = await authorizationRequest(rp.config);
  const { callback } = await signInThroughPages(new Browser(), request.url, { email: rp.email, password: PASSWORD });
  return client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true });
}

/** A token request by hand, to see status, headers and body even when it fails. */
async function tokenRequest(app: TestApp, rp: Awaited<ReturnType<typeof seedWebClient>>, refreshToken: string, accept = 'application/json') {
  const started = performance.now();
  const response = await fetch(`${app.issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`web-app:${rp.secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded', accept },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
  });
  return { status: response.status, retryAfter: response.headers.get('retry-after'), body: await response.json() as Record<string, string>, ms: performance.now() - started };
}

/** Polls until `check` passes; returns how long recovery took. */
async function recovers(check: () => Promise<boolean>, limitMs: number): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < limitMs) {
    if (await check().catch(() => false)) return performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`not recovered within ${limitMs} ms`);
}

async function expectUnavailable(app: TestApp, rp: Awaited<ReturnType<typeof seedWebClient>>, refreshToken: string, dependency: string) {
  // A client that accepts anything gets the OAuth JSON all the same.
  for (const accept of ['application/json', '*/*']) {
    const failed = await tokenRequest(app, rp, refreshToken, accept);
    expect(failed.status).toBe(503);
    expect(failed.body.error).toBe('temporarily_unavailable');
    expect(failed.retryAfter).toBe('5');
    expect(failed.ms).toBeLessThan(5000);
  }
  const ready = await fetch(`${app.issuer}/readyz`);
  expect(ready.status).toBe(503);
  expect((await ready.json() as { checks: Record<string, string> }).checks[dependency]).toBe('failed');
  // People get a page, not JSON and not a 500.
  const page = await new Browser().request((await authorizationRequest(rp.config)).url);
  const html = await page.text();
  expect(page.status).toBe(503);
  expect(html).toContain('Temporarily unavailable');
}

describe.skipIf(!redisServerAvailable)('Redis outage', () => {
  let redis: PrivateService;
  let app: TestApp;
  afterAll(async () => {
    await app?.close().catch(() => undefined);
    await redis?.destroy();
  });

  it('fails fast with 503 while Redis is down, recovers by itself, and loses no committed write', async () => {
    redis = await startPrivateRedis();
    app = await startTestApp({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: `idp-outage:${randomBytes(4).toString('hex')}:` });
    const rp = await seedWebClient(app);
    const tokens = await signIn(app, rp);

    await redis.stop();
    await expectUnavailable(app, rp, tokens.refresh_token!, 'redis');

    await redis.start();
    const took = await recovers(async () => (await fetch(`${app.issuer}/readyz`)).status === 200, 10_000);
    expect(took).toBeLessThan(10_000);
    // The refresh token written before the outage is still there: it rotates normally.
    const refreshed = await tokenRequest(app, rp, tokens.refresh_token!);
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refresh_token).toBeTruthy();
  }, 60_000);
});

describe.skipIf(!postgresServerAvailable)('PostgreSQL outage', () => {
  let postgres: PrivateService;
  let app: TestApp;
  afterAll(async () => {
    await app?.close().catch(() => undefined);
    await postgres?.destroy();
  });

  it('fails fast with 503 while PostgreSQL is down, recovers by itself, and loses no committed write', async () => {
    postgres = await startPrivatePostgres();
    // Provider state in the SQL adapter too, so the token endpoint needs PostgreSQL.
    app = await startTestApp({ DATABASE_URL: postgres.url, REDIS_URL: '' });
    const rp = await seedWebClient(app);
    const tokens = await signIn(app, rp);
    const account = await app.deps.accounts.create({ email: 'committed@example.com', password: 'committed passphrase 1' });

    await postgres.stop();
    await expectUnavailable(app, rp, tokens.refresh_token!, 'database');

    await postgres.start();
    const took = await recovers(async () => (await fetch(`${app.issuer}/readyz`)).status === 200, 10_000);
    expect(took).toBeLessThan(10_000);
    expect((await tokenRequest(app, rp, tokens.refresh_token!)).status).toBe(200);
    expect((await app.deps.accounts.findById(account.id))?.email).toBe('committed@example.com');
  }, 90_000);
});
