import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { decodeJwt } from 'jose';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser } from '../helpers/browser.ts';
import { seedWebClient, authorizationRequest, signInThroughPages, PASSWORD, REDIRECT_URI } from '../helpers/oidc.ts';

const API = 'https://api.example.test/reports';

/** POSTs a form to the token endpoint family with the client's Basic credentials. */
async function postForm(app: TestApp, path: string, auth: string, form: Record<string, string>) {
  const response = await fetch(`${app.issuer}${path}`, {
    method: 'POST',
    headers: { authorization: `Basic ${auth}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(form),
  });
  return { status: response.status, body: await response.json() as Record<string, unknown> };
}

describe('protocol: POST /auth, auth_time, JWT introspection', () => {
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;
  let basic: string;
  let billingBasic: string;

  beforeAll(async () => {
    app = await startTestApp();
    rp = await seedWebClient(app);
    basic = Buffer.from(`web-app:${rp.secret}`).toString('base64');
    await app.deps.resources.create({ indicator: API, name: 'Reports', scopes: ['read:reports'] });
    await app.deps.resources.grant('web-app', API, ['read:reports']);
    await app.deps.rbac.createPermission({ indicator: API, name: 'read:reports' });
    await app.deps.rbac.grantPermission('admin', API, 'read:reports');
    const billing = await app.deps.clients.create({ id: 'billing', grantTypes: ['client_credentials'], name: 'Billing' });
    await app.deps.resources.grant('billing', API, ['read:reports']);
    billingBasic = Buffer.from(`billing:${billing.secret}`).toString('base64');
  });
  afterAll(async () => app?.close());

  it('answers POST /auth like GET /auth: a form post from the relying party ends in a code', async () => {
    const request = await authorizationRequest(rp.config, {}, { offline: false });
    const browser = new Browser();
    const posted = await browser.request(`${app.issuer}/auth`, { form: Object.fromEntries(request.url.searchParams) });
    expect(posted.status).toBe(303);
    const location = new URL(posted.headers.get('location')!, app.issuer);
    expect(location.pathname).toBe('/auth');
    expect(Object.fromEntries(location.searchParams)).toEqual(Object.fromEntries(request.url.searchParams));
    const { callback } = await signInThroughPages(browser, location, { email: rp.email, password: PASSWORD });
    expect(callback.startsWith(REDIRECT_URI)).toBe(true);
    const tokens = await client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true });
    expect(tokens.claims()!.sub).toBeTruthy();

    // The same browser, signed in now: a second POST is answered from the session, as GET would be.
    const again = await authorizationRequest(rp.config, {}, { offline: false });
    const second = await browser.follow(`${app.issuer}/auth`, REDIRECT_URI, { form: Object.fromEntries(again.url.searchParams) });
    expect('url' in second && new URL(second.url).searchParams.get('code')).toBeTruthy();
  });

  it('refuses a POST /auth that is not form-encoded with a 415 that says how', async () => {
    const response = await fetch(`${app.issuer}/auth`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: '{"client_id":"web-app"}' });
    expect(response.status).toBe(415);
    expect(await response.json()).toMatchObject({ error: 'request.unsupported_media_type', error_description: expect.stringContaining('form-encoded') });
  });

  it('serves a POST /auth too long for a redirect in place, as GET would', async () => {
    const request = await authorizationRequest(rp.config, { state: 's'.repeat(9000) }, { offline: false });
    const browser = new Browser();
    const posted = await browser.request(`${app.issuer}/auth`, { form: Object.fromEntries(request.url.searchParams) });
    expect(posted.status).toBe(303);
    expect(new URL(posted.headers.get('location')!, app.issuer).pathname).toMatch(/^\/interaction\//);
    const { callback } = await signInThroughPages(browser, new URL(posted.headers.get('location')!, app.issuer), { email: rp.email, password: PASSWORD });
    expect(new URL(callback).searchParams.get('state')).toBe('s'.repeat(9000));
  });

  it('refuses a bad POST /auth exactly as GET: an unregistered redirect_uri is an error page, not a redirect', async () => {
    const request = await authorizationRequest(rp.config, { redirect_uri: 'https://evil.example/cb' }, { offline: false });
    const browser = new Browser();
    const viaGet = await browser.navigate(request.url.href);
    const viaPost = await browser.navigate(`${app.issuer}/auth`, Object.fromEntries(request.url.searchParams));
    expect(viaPost.status).toBe(viaGet.status);
    expect(viaPost.status).toBe(400);
    expect(viaPost.url.startsWith(app.issuer)).toBe(true);
  });

  it('puts auth_time in every ID token, without max_age, and keeps it on refresh', async () => {
    const request = await authorizationRequest(rp.config);
    const { callback } = await signInThroughPages(new Browser(), request.url, { email: rp.email, password: PASSWORD });
    const before = Math.floor(Date.now() / 1000);
    const tokens = await client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true });
    const authTime = tokens.claims()!.auth_time;
    expect(typeof authTime).toBe('number');
    expect(authTime).toBeLessThanOrEqual(before + 1);
    const refreshed = await client.refreshTokenGrant(rp.config, tokens.refresh_token!);
    expect(decodeJwt(refreshed.id_token!).auth_time).toBe(authTime);
  });

  it("introspects a person's JWT access token: active with its claims while its grant holds, inactive once revoked", async () => {
    const request = await authorizationRequest(rp.config, { resource: API, scope: 'openid email offline_access read:reports' });
    const { callback } = await signInThroughPages(new Browser(), request.url, { email: rp.email, password: PASSWORD });
    const tokens = await client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true });
    const forApi = await client.refreshTokenGrant(rp.config, tokens.refresh_token!, { resource: API, scope: 'read:reports' });
    expect(forApi.access_token.split('.')).toHaveLength(3);

    const active = await postForm(app, '/token/introspection', basic, { token: forApi.access_token });
    expect(active.status).toBe(200);
    const claims = decodeJwt(forApi.access_token);
    expect(active.body).toMatchObject({ active: true, client_id: 'web-app', sub: claims.sub, aud: API, scope: 'read:reports', iss: app.issuer, exp: claims.exp, jti: claims.jti, token_type: 'Bearer', roles: ['admin', 'staff'] });

    // A tampered token is not ours: inactive, not an error.
    const [header, payload, signature] = forApi.access_token.split('.');
    const forged = `${header}.${Buffer.from(JSON.stringify({ ...claims, scope: 'everything' })).toString('base64url')}.${signature}`;
    expect(payload).toBeTruthy();
    expect((await postForm(app, '/token/introspection', basic, { token: forged })).body).toEqual({ active: false });

    // Revoking the grant (here: the refresh token at the revocation endpoint) ends the JWT too.
    const revoked = await fetch(`${app.issuer}/token/revocation`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: forApi.refresh_token!, token_type_hint: 'refresh_token' }),
    });
    expect(revoked.status).toBe(200);
    const after = await postForm(app, '/token/introspection', basic, { token: forApi.access_token });
    expect(after).toEqual({ status: 200, body: { active: false } });
  });

  it('introspects a client-credentials JWT as active, and still authenticates the caller first', async () => {
    const issued = await postForm(app, '/token', billingBasic, { grant_type: 'client_credentials', resource: API, scope: 'read:reports' });
    expect(issued.status).toBe(200);
    const token = issued.body.access_token as string;
    const answer = await postForm(app, '/token/introspection', billingBasic, { token });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ active: true, client_id: 'billing', sub: 'billing', aud: API, scope: 'read:reports' });
    const wrongSecret = await postForm(app, '/token/introspection', Buffer.from('billing:wrong').toString('base64'), { token });
    expect(wrongSecret.status).toBe(401);
    expect(wrongSecret.body.error).toBe('invalid_client');
  });
});
