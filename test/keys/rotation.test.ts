import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { authorizationRequest, PASSWORD, REDIRECT_URI, seedWebClient, signInThroughPages } from '../helpers/oidc.ts';
import { adminCall, adminToken } from '../helpers/admin.ts';
import { generateSigningJwk } from '../../src/oidc/keys/generate.ts';

// One instance, on the embedded database or on PostgreSQL and Redis: what a rotation changes
// and what it must not (tokens from before, a sign-in in progress, keys at rest).
describe('signing key rotation', () => {
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;

  const jwks = async (): Promise<{ keys: JWK[] }> => (await fetch(`${app.issuer}/jwks`)).json() as Promise<{ keys: JWK[] }>;
  const activeKid = async (alg: string): Promise<string> => (await app.deps.signingKeys.list()).find((key) => key.alg === alg && key.state === 'active')!.kid;
  async function signIn(): Promise<client.TokenEndpointResponse & client.TokenEndpointResponseHelpers> {
    const request = await authorizationRequest(rp.config);
    const { callback } = await signInThroughPages(new Browser(), request.url, { email: rp.email, password: PASSWORD });
    return client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true });
  }

  beforeAll(async () => {
    app = await startTestApp();
    rp = await seedWebClient(app);
  });
  afterAll(async () => app?.close());

  it('signs new tokens with the new key at once, while tokens from before still verify against /jwks and at the admin API', async () => {
    const before = await signIn();
    const adminBefore = await adminToken(app);
    const oldKid = await activeKid('RS256');
    expect(decodeProtectedHeader(before.id_token!).kid).toBe(oldKid);
    expect(decodeProtectedHeader(adminBefore).kid).toBe(oldKid);

    const [rotated] = await app.deps.signingKeys.rotate({ algs: ['RS256'], now: true, actor: 'test' });
    expect(rotated).toMatchObject({ alg: 'RS256', state: 'active' });
    const newKid = rotated!.kid;

    // Both published: the old one as a verify-only key, so nothing signs with it any more.
    const published = await jwks();
    expect(published.keys.map((key) => key.kid)).toEqual(expect.arrayContaining([oldKid, newKid]));
    expect(published.keys.find((key) => key.kid === oldKid)).toMatchObject({ key_ops: ['verify'] });
    expect(published.keys.every((key) => !('d' in key))).toBe(true);
    const { payload } = await jwtVerify(before.id_token!, createLocalJWKSet(published), { issuer: app.issuer, audience: 'web-app' });
    expect(payload.sub).toBeTruthy();
    // Our own APIs follow the same keys: the admin token from before still works ...
    const listed = await adminCall(app, adminBefore, 'GET', '/keys');
    expect(listed.status).toBe(200);
    const old = listed.body.items.find((key: { kid: string }) => key.kid === oldKid);
    expect(old).toMatchObject({ state: 'retired', alg: 'RS256' });
    // ... until its longest token can have expired: 1 h (ttl.idToken, ttl.accessToken) + 300 s of clock skew.
    expect(Date.parse(old.publishedUntil) - Date.parse(old.retiredAt)).toBe((3600 + 300) * 1000);

    // ... and new tokens carry the new kid: ID tokens, JWT access tokens.
    const after = await signIn();
    expect(decodeProtectedHeader(after.id_token!).kid).toBe(newKid);
    expect(decodeProtectedHeader(await adminToken(app)).kid).toBe(newKid);

    const events = (await app.deps.audit.list({ limit: 20 })).filter((event) => event.event.startsWith('key.')).map((event) => [event.event, event.details?.kid]);
    expect(events).toEqual(expect.arrayContaining([['key.rotated', newKid], ['key.activated', newKid], ['key.retired', oldKid]]));
  });

  it('finishes a sign-in started before the provider was rebuilt, across two rebuilds', async () => {
    const browser = new Browser();
    const request = await authorizationRequest(rp.config);
    const login = await browser.follow(request.url, REDIRECT_URI);
    if (!('page' in login) || !login.html.includes('/login"')) throw new Error('expected the login page');
    const generation = app.deps.providers.generation;

    await app.deps.signingKeys.rotate({ algs: ['RS256'], now: true, actor: 'test' });
    expect(app.deps.providers.generation).toBeGreaterThan(generation);
    const loginForm = readForm(login.html, '/login');
    const consent = await browser.follow(new URL(loginForm.action, request.url), REDIRECT_URI, { form: { ...loginForm.fields, email: rp.email, password: PASSWORD } });
    if (!('page' in consent) || !consent.html.includes('/confirm"')) throw new Error(`expected the consent page, got ${JSON.stringify(consent).slice(0, 300)}`);

    await app.deps.signingKeys.rotate({ algs: ['ES256'], now: true, actor: 'test' });
    const consentForm = readForm(consent.html, '/confirm');
    const done = await browser.follow(new URL(consentForm.action, request.url), REDIRECT_URI, { form: consentForm.fields });
    if (!('url' in done)) throw new Error('the sign-in did not reach the client');
    const tokens = await client.authorizationCodeGrant(rp.config, new URL(done.url), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true });
    expect(decodeProtectedHeader(tokens.id_token!).kid).toBe(await activeKid('RS256'));
    // The refresh token from before the second rebuild works on the newest instance too.
    const refreshed = await client.refreshTokenGrant(rp.config, tokens.refresh_token!);
    expect(refreshed.access_token).toBeTruthy();
  });

  it('keeps no private key in clear, and seals a clear key an older version left, at the next start', async () => {
    type Row = { kid: string; state: string; jwk: unknown; public_jwk: Record<string, unknown> | null; private_jwk_sealed: string | null };
    const rows = async () => (await app.deps.db.query<Row>('SELECT kid, state, jwk, public_jwk, private_jwk_sealed FROM signing_keys')).rows;
    const privateParts = new Map(app.deps.keyRing.providerKeys.map((key) => [key.kid, key.d!]));
    for (const row of await rows()) {
      expect(row.jwk).toBeNull();
      expect(Object.keys(row.public_jwk ?? {})).not.toContain('d');
      expect(row.private_jwk_sealed).toMatch(/^v1\.[0-9a-f]{8}\.[\w-]+\.[\w-]+\.[\w-]+$/);
      const d = privateParts.get(row.kid);
      expect(d).toBeTruthy();
      expect(JSON.stringify(row)).not.toContain(d);
    }

    // A row as versions before migration 0019 wrote it: the private JWK in clear.
    const legacy = await generateSigningJwk('RS256');
    await app.deps.db.query(`INSERT INTO signing_keys (kid, alg, state, jwk) VALUES ($1, 'RS256', 'retired', $2)`, [legacy.kid, legacy]);
    await app.deps.signingKeys.ensure();
    const sealed = (await rows()).find((row) => row.kid === legacy.kid)!;
    expect(sealed.jwk).toBeNull();
    expect(JSON.stringify(sealed)).not.toContain(legacy.d);
    expect(sealed.public_jwk).toMatchObject({ kid: legacy.kid, n: legacy.n });
    // Published (retired, with a deadline) once the instance has followed the change.
    const deadline = Date.now() + 5000;
    while (!(await jwks()).keys.some((key) => key.kid === legacy.kid)) {
      if (Date.now() > deadline) throw new Error('the sealed key was not published');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect((await app.deps.signingKeys.list()).find((key) => key.kid === legacy.kid)).toMatchObject({ state: 'retired', unpublishAfter: expect.any(Date) });
  });

  it('lets relying parties cache /jwks for half the pre-publication time, an hour at most', async () => {
    const response = await fetch(`${app.issuer}/jwks`);
    expect(response.headers.get('cache-control')).toBe('public, max-age=3600');
  });
});
