import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { authorizationRequest, PASSWORD, seedWebClient, signInThroughPages } from '../helpers/oidc.ts';
import { Browser } from '../helpers/browser.ts';

/*
 * The account API (/account/api) over real HTTP with a person's token for the provider's own
 * account resource: what a single-page app of the operator's would do. Only the caller's own
 * account is ever read; a token for another resource, none, or one issued before the account's
 * sessions were revoked is refused with a Bearer challenge.
 */
describe('the account API', () => {
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;
  let resource: string;

  beforeAll(async () => {
    app = await startTestApp();
    rp = await seedWebClient(app);
    resource = `${app.issuer}/account/api`;
    await app.deps.resources.grant('web-app', resource, ['account:read', 'account:write']);
  });
  afterAll(async () => app?.close());

  async function tokenFor(scopes: string): Promise<string> {
    const request = await authorizationRequest(rp.config, { resource, scope: `openid ${scopes}` }, { offline: false });
    const { callback } = await signInThroughPages(new Browser(), request.url, { email: rp.email, password: PASSWORD });
    const tokens = await client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce }, { resource });
    expect(tokens.access_token.split('.')).toHaveLength(3);
    return tokens.access_token;
  }

  const call = (path: string, token?: string) => fetch(new URL(`/account/api${path}`, app.issuer), { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('answers the caller\'s own profile and factors, with account:read', async () => {
    const token = await tokenFor('account:read');
    const profile = await call('/profile', token);
    expect(profile.status).toBe(200);
    expect(profile.headers.get('cache-control')).toBe('no-store');
    const account = (await app.deps.accounts.findByEmail(rp.email))!;
    expect(await profile.json()).toMatchObject({ id: account.id, email: rp.email, name: 'Ada Lovelace', hasPassword: true });
    const security = await call('/security', token);
    expect(await security.json()).toEqual({ factors: [], recoveryCodesLeft: 0 });
  });

  const send = (method: string, path: string, token: string, body?: unknown) => fetch(new URL(`/account/api${path}`, app.issuer), {
    method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

  it('changes the profile with account:write only, and refuses bad fields by name', async () => {
    const reader = await tokenFor('account:read');
    expect((await send('PATCH', '/profile', reader, { name: 'Ada King' })).status).toBe(403);
    const writer = await tokenFor('account:read account:write');
    const changed = await send('PATCH', '/profile', writer, { name: 'Ada King', picture: 'https://example.com/ada.png' });
    expect(changed.status).toBe(200);
    expect(await changed.json()).toEqual({ changed: expect.arrayContaining(['name', 'picture']) });
    expect((await (await call('/profile', writer)).json() as { name: string }).name).toBe('Ada King');
    const refused = await send('PATCH', '/profile', writer, { picture: 'http://example.com/ada.png' });
    expect(refused.status).toBe(400);
    expect((await refused.json() as { message: string }).message).toContain('body.picture');
    expect((await send('PATCH', '/profile', writer, { password: 'x' })).status).toBe(400);
  });

  it('lists sessions, apps and linked accounts of the caller only; another person\'s session is a 404', async () => {
    const token = await tokenFor('account:read account:write');
    const sessions = await (await call('/sessions', token)).json() as { sessions: Array<{ uid: string }> };
    expect(sessions.sessions.length).toBeGreaterThan(0);
    const apps = await (await call('/apps', token)).json() as { apps: Array<{ clientId: string }> };
    expect(apps.apps.map((entry) => entry.clientId)).toContain('web-app');
    expect(await (await call('/linked', token)).json()).toEqual({ identities: [] });
    const activity = await (await call('/activity', token)).json() as { events: Array<{ event: string }> };
    expect(activity.events.map((event) => event.event)).toContain('login.succeeded');

    // Someone else's session: not found, and still there.
    const other = await app.deps.accounts.create({ email: 'grace@example.com', password: PASSWORD, emailVerified: true });
    const otherRequest = await authorizationRequest(rp.config, {}, { offline: false });
    await signInThroughPages(new Browser(), otherRequest.url, { email: other.email, password: PASSWORD });
    const [theirs] = await app.deps.deviceSessions.list(other.id, null);
    expect((await send('DELETE', `/sessions/${theirs!.uid}`, token)).status).toBe(404);
    expect(await app.deps.deviceSessions.list(other.id, null)).toHaveLength(1);
  });

  it('downloads the data without secrets, and removes an application', async () => {
    const token = await tokenFor('account:read account:write');
    const data = await call('/data', token);
    expect(data.status).toBe(200);
    const text = await data.text();
    expect(text).toContain(rp.email);
    expect(text).not.toMatch(/\$argon2id\$/);
    expect((await send('DELETE', '/apps/web-app', token)).status).toBe(204);
    const after = await (await call('/apps', await tokenFor('account:read'))).json() as { apps: Array<{ clientId: string }> };
    expect(after.apps.map((entry) => entry.clientId)).toEqual(['web-app']);
  });

  it('describes itself in OpenAPI beside the admin API', async () => {
    const document = await (await fetch(new URL('/account/api/openapi.json', app.issuer))).json() as { info: { title: string }; paths: Record<string, unknown>; servers: Array<{ url: string }> };
    expect(document.info.title).toBe('Identity provider account API');
    expect(document.servers[0]!.url).toBe(resource);
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/profile', '/security']));
    expect((await call('/no-such-operation')).status).toBe(404);
  });

  // Last: it revokes the account's sessions, and so every token of the tests before.
  it('refuses a missing token, a token for another resource and one from before the sessions were revoked', async () => {
    const none = await call('/profile');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    const garbage = await call('/profile', 'not.a.token');
    expect(garbage.status).toBe(401);
    const token = await tokenFor('account:read');
    const account = (await app.deps.accounts.findByEmail(rp.email))!;
    await app.deps.revokeAccountState(account.id);
    // Tokens carry whole seconds: the revocation is placed a second later, so this token clearly predates it.
    await app.deps.db.query('UPDATE accounts SET sessions_valid_after = sessions_valid_after + 1000 WHERE id = $1', [account.id]);
    expect((await call('/profile', token)).status).toBe(401);
  });

});
