import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { decodeJwt } from 'jose';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser } from '../helpers/browser.ts';
import { authorizationRequest, PASSWORD, REDIRECT_URI, seedWebClient, signInThroughPages } from '../helpers/oidc.ts';
import { auditEvents, csrfOf, mainOf, openConsole, seedPerson, url } from './console.ts';

/*
 * Connected apps (issue 14 §5) over HTTP on the running provider: every client the person has
 * granted, with its scopes and API permissions; withdrawing one scope shrinks the grant, the
 * refresh token and the remembered consent (the next refresh and introspection lack it);
 * withdrawing the application ends its grant, refresh tokens and consent (the next refresh is
 * invalid_grant, the next sign-in asks again). Nobody reaches another person's grant.
 */

const API = 'https://reports.api.test/';
const SCOPE = 'openid profile email offline_access roles read:reports write:reports';

describe('connected apps in the account console', () => {
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;
  let adaId: string;
  let bobId: string;
  const ada = { email: 'ada@example.com' };
  const bob = { email: 'bob@example.com' };
  // One browser for Ada: the application's sign-in and the console share her provider session.
  const browser = new Browser();
  let refreshToken: string;
  let oldAccessToken: string;

  beforeAll(async () => {
    app = await startTestApp();
    rp = await seedWebClient(app, { email: ada.email });
    adaId = (await app.deps.accounts.findByEmail(ada.email))!.id;
    bobId = (await seedPerson(app, bob.email)).id;
    await app.deps.resources.create({ indicator: API, name: 'Reports', scopes: ['read:reports', 'write:reports'] });
    await app.deps.resources.grant('web-app', API, ['read:reports', 'write:reports']);
    // A token for the API carries what the client was granted and the person's roles permit there.
    const { rbac } = app.deps;
    for (const name of ['read:reports', 'write:reports']) await rbac.createPermission({ indicator: API, name });
    await rbac.createRole({ name: 'editor', description: 'Reads and writes reports' });
    for (const name of ['read:reports', 'write:reports']) await rbac.grantPermission('editor', API, name);
    await rbac.setAccountRoles(adaId, ['editor']);
  });
  afterAll(async () => app?.close());

  async function signInToApp(extra: Record<string, string> = {}, options: { offline?: boolean } = {}) {
    const request = await authorizationRequest(rp.config, { resource: API, scope: SCOPE, ...extra }, options);
    const { callback, sawConsent } = await signInThroughPages(browser, request.url, { email: ada.email, password: PASSWORD });
    expect(callback.startsWith(REDIRECT_URI)).toBe(true);
    const tokens = await client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
    return { tokens, sawConsent };
  }

  const consentOf = async (accountId: string) => app.deps.consents.find(accountId, 'web-app');
  const introspect = (token: string) => client.tokenIntrospection(rp.config, token);
  const appsPage = async () => (await openConsole(app, ada, '/account/apps', browser)).page;
  const post = (who: Browser, path: string, form: Record<string, string>) => who.request(url(app, path), { form });

  it('lists the application with its permissions in words, its API scopes, when allowed and last used; not the console', async () => {
    const { tokens, sawConsent } = await signInToApp();
    expect(sawConsent).toBe(true);
    refreshToken = tokens.refresh_token!;
    oldAccessToken = tokens.access_token;
    const page = await appsPage();
    expect(page.url).toBe(url(app, '/account/apps'));
    const main = mainOf(page.html);
    expect(main).toContain('<h2 id="app-0">Web App</h2>');
    expect(main).toContain('See your email address and whether it is verified');
    expect(main).toContain('Stay connected after you close it, until you revoke access');
    expect(main).toContain('At Reports');
    expect(main).toContain('read:reports');
    expect(main).toContain('write:reports');
    expect(main).toMatch(/Allowed [^<]+ · last used /);
    // The console signed in through the same session, yet is not an application of hers.
    expect((await app.deps.accountState.listGrants(adaId)).some((grant) => grant.clientId === 'idp-account')).toBe(true);
    expect(main).not.toContain('idp-account');
    expect(main).not.toContain('/account/apps/idp-account/');
    // `openid` is shown but cannot be withdrawn alone.
    expect(main).not.toMatch(/name="scope" value="openid"/);
    expect(main).toContain('action="/account/apps/web-app/remove"');
  });

  it('refuses another person\'s application with 404, and changes nothing of Ada\'s', async () => {
    const { browser: bobs, page } = await openConsole(app, bob, '/account/apps');
    expect(mainOf(page.html)).toContain('No app is connected to your account.');
    const csrf = csrfOf(page.html);
    expect((await post(bobs, '/account/apps/web-app/withdraw-scope', { csrf, scope: 'email' })).status).toBe(404);
    expect((await post(bobs, '/account/apps/web-app/remove', { csrf })).status).toBe(404);
    expect((await post(bobs, '/account/apps/idp-account/remove', { csrf })).status).toBe(404);
    expect((await post(bobs, `/account/apps/${'x'.repeat(300)}/remove`, { csrf })).status).toBe(404);
    expect((await consentOf(adaId))?.scopes).toContain('email');
    expect((await app.deps.accountState.listGrants(adaId)).find((grant) => grant.clientId === 'web-app')?.scopes).toContain('email');
    expect(await consentOf(bobId)).toBeNull();
  });

  it('answers bad withdrawals with a clear 4xx: no CSRF, no scope, openid, a scope not held, the console', async () => {
    const page = await appsPage();
    const csrf = csrfOf(page.html);
    expect((await post(browser, '/account/apps/web-app/withdraw-scope', { scope: 'email' })).status).toBe(403);
    expect((await post(browser, '/account/apps/web-app/withdraw-scope', { csrf })).status).toBe(400);
    expect((await post(browser, '/account/apps/web-app/withdraw-scope', { csrf, scope: 'openid' })).status).toBe(400);
    expect((await post(browser, '/account/apps/web-app/withdraw-scope', { csrf, scope: 'two words' })).status).toBe(400);
    expect((await post(browser, '/account/apps/web-app/withdraw-scope', { csrf, scope: 'phone' })).status).toBe(404);
    expect((await post(browser, '/account/apps/web-app/withdraw-scope', { csrf, scope: 'read:reports', resource: 'https://other.api.test/' })).status).toBe(404);
    expect((await post(browser, '/account/apps/idp-account/withdraw-scope', { csrf, scope: 'openid' })).status).toBe(404);
    expect((await post(browser, '/account/apps/idp-account/remove', { csrf })).status).toBe(404);
    expect((await consentOf(adaId))?.scopes).toContain('email');
  });

  it('withdraws one sign-in scope: the next refresh, the ID token, userinfo and introspection lack it, and so does the remembered consent', async () => {
    const before = await introspect(refreshToken);
    expect(before.scope?.split(' ')).toContain('email');
    const page = await appsPage();
    const answer = await post(browser, '/account/apps/web-app/withdraw-scope', { csrf: csrfOf(page.html), scope: 'email' });
    expect(answer.status).toBe(303);
    expect(answer.headers.get('location')).toBe('/account/apps?done=scope_withdrawn');
    // The access token issued before is over at once.
    expect((await introspect(oldAccessToken)).active).toBe(false);
    // The refresh token itself no longer carries it.
    const narrowed = await introspect(refreshToken);
    expect(narrowed.active).toBe(true);
    expect(narrowed.scope?.split(' ')).not.toContain('email');
    expect(narrowed.scope?.split(' ')).toContain('profile');
    const tokens = await client.refreshTokenGrant(rp.config, refreshToken);
    refreshToken = tokens.refresh_token!;
    expect(tokens.scope?.split(' ')).not.toContain('email');
    expect(tokens.scope?.split(' ')).toContain('profile');
    expect(tokens.claims()?.email).toBeUndefined();
    expect(tokens.claims()?.name).toBe('Ada Lovelace');
    const info = await client.fetchUserInfo(rp.config, tokens.access_token, tokens.claims()!.sub);
    expect(info.email).toBeUndefined();
    expect(info.name).toBe('Ada Lovelace');
    const access = await introspect(tokens.access_token);
    expect(access.active).toBe(true);
    expect(access.scope?.split(' ')).not.toContain('email');
    expect((await introspect(refreshToken)).scope?.split(' ')).not.toContain('email');
    // Asking for it by name at the refresh is refused: the refresh token no longer holds it.
    await expect(client.refreshTokenGrant(rp.config, refreshToken, { scope: 'openid email' })).rejects.toMatchObject({ error: 'invalid_scope' });
    const consent = await consentOf(adaId);
    expect(consent?.scopes).not.toContain('email');
    expect(consent?.claims ?? []).not.toContain('email');
    expect(consent?.scopes).toContain('profile');
    const listed = mainOf((await browser.navigate(url(app, '/account/apps?done=scope_withdrawn'))).html);
    expect(listed).toContain('The permission was withdrawn.');
    expect(listed).not.toContain('See your email address');
    const [event] = await auditEvents(app, adaId, 'grant.scope_withdrawn');
    expect(event).toMatchObject({ reason: 'account_console', ip: '127.0.0.1', details: { clientId: 'web-app', scope: 'email', resource: null, consent: true } });
    expect(event!.details!.grants).toBeGreaterThanOrEqual(1);
  });

  it('withdraws one API scope: the next token for the API lacks it, introspection too', async () => {
    const first = await client.refreshTokenGrant(rp.config, refreshToken, { resource: API });
    refreshToken = first.refresh_token!;
    expect((decodeJwt(first.access_token).scope as string).split(' ').sort()).toEqual(['read:reports', 'write:reports']);
    expect((await introspect(first.access_token)).active).toBe(true);
    const page = await appsPage();
    expect((await post(browser, '/account/apps/web-app/withdraw-scope', { csrf: csrfOf(page.html), scope: 'write:reports', resource: API })).status).toBe(303);
    // The JWT issued before is inactive at introspection (its record went with the withdrawal).
    expect((await introspect(first.access_token)).active).toBe(false);
    const next = await client.refreshTokenGrant(rp.config, refreshToken, { resource: API });
    refreshToken = next.refresh_token!;
    expect(decodeJwt(next.access_token).scope).toBe('read:reports');
    const access = await introspect(next.access_token);
    expect(access).toMatchObject({ active: true, scope: 'read:reports' });
    expect((await introspect(refreshToken)).scope?.split(' ')).not.toContain('write:reports');
    expect((await consentOf(adaId))?.resourceScopes[API]).toEqual(['read:reports']);
    const listed = mainOf((await browser.navigate(url(app, '/account/apps'))).html);
    expect(listed).toContain('read:reports');
    expect(listed).not.toContain('write:reports');
  });

  it('a sign-in asking for a withdrawn scope shows the consent page again', async () => {
    // Without the withdrawn scope the remembered consent covers it: no page.
    expect((await signInToApp({ scope: 'openid profile' }, { offline: false })).sawConsent).toBe(false);
    expect((await signInToApp({ scope: 'openid profile email' }, { offline: false })).sawConsent).toBe(true);
    expect((await consentOf(adaId))?.scopes).toContain('email');
  });

  it('withdraws the whole application: grants, refresh tokens and consent gone; the refresh is invalid_grant and the next sign-in asks again', async () => {
    const page = await appsPage();
    const answer = await post(browser, '/account/apps/web-app/remove', { csrf: csrfOf(page.html) });
    expect(answer.status).toBe(303);
    expect(answer.headers.get('location')).toBe('/account/apps?done=removed');
    await expect(client.refreshTokenGrant(rp.config, refreshToken)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await introspect(refreshToken)).active).toBe(false);
    expect(await consentOf(adaId)).toBeNull();
    expect((await app.deps.accountState.listGrants(adaId)).some((grant) => grant.clientId === 'web-app')).toBe(false);
    const listed = mainOf((await browser.navigate(url(app, '/account/apps?done=removed'))).html);
    expect(listed).toContain('The app was removed.');
    expect(listed).not.toContain('Web App');
    expect((await auditEvents(app, adaId, 'grant.revoked')).at(-1)).toMatchObject({ reason: 'account_console', details: { clientId: 'web-app', consent: true } });
    // The provider session lives on, but the application must ask again.
    expect((await signInToApp({ scope: 'openid profile' }, { offline: false })).sawConsent).toBe(true);
    // That sign-in connected it again; once removed once more, there is nothing left to remove.
    expect((await post(browser, '/account/apps/web-app/remove', { csrf: csrfOf(page.html) })).status).toBe(303);
    const again = await post(browser, '/account/apps/web-app/remove', { csrf: csrfOf(page.html) });
    expect(again.status).toBe(404);
  });
});
