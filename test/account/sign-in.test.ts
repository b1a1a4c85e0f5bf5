import { insertClient } from '../../src/clients/repository.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { testClock } from '../helpers/clock.ts';
import { Browser } from '../helpers/browser.ts';
import { auditEvents, csrfOf, mainOf, openConsole, seedPerson, throughSignIn, url } from './console.ts';

/*
 * The account console signs people in through this provider, as a client of it (issue 13 §3):
 * the provider's own login page, no consent page, a code redeemed in-process, and a console
 * session of its own that ends with the provider session it came from.
 */

describe('signing in to the account console', () => {
  const clock = testClock(Date.UTC(2026, 5, 2, 9, 0, 0));
  let app: TestApp;
  let accountId: string;
  const email = 'ada@example.com';

  beforeAll(async () => {
    app = await startTestApp({}, { clock });
    accountId = (await seedPerson(app, email)).id;
  });
  afterAll(async () => app?.close());

  it('sends a signed-out visitor through the provider sign-in and back to the page, without a consent page', async () => {
    const browser = new Browser();
    const first = await browser.request(url(app, '/account/security/recovery-codes'));
    expect(first.status).toBe(303);
    const auth = new URL(first.headers.get('location')!);
    expect(auth.origin + auth.pathname).toBe(url(app, '/auth'));
    expect(Object.fromEntries(auth.searchParams)).toMatchObject({
      client_id: 'idp-account', response_type: 'code', scope: 'openid', redirect_uri: url(app, '/account/callback'), code_challenge_method: 'S256',
    });
    // State, nonce and the PKCE challenge are fresh randoms; the verifier never leaves the server.
    for (const name of ['state', 'nonce', 'code_challenge']) expect(auth.searchParams.get(name)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(auth.searchParams.has('code_verifier')).toBe(false);
    const cookies = first.headers.getSetCookie().join('\n');
    expect(cookies).toMatch(/idp_account_browser=[^;]+; path=\/account; samesite=lax; httponly/);

    const login = await browser.navigate(auth.href);
    expect(login.html).toContain('type="password"');
    const done = await throughSignIn(browser, app, login, { email });
    expect(done.url).toBe(url(app, '/account/security/recovery-codes'));
    expect(done.status).toBe(200);
    expect(done.html).not.toContain('/confirm"');
    const security = await browser.navigate(url(app, '/account/security'));
    expect(security.url).toBe(url(app, '/account/security'));
    expect(security.html).toContain(email);
  });

  it('answers /account with the profile page', async () => {
    const { browser } = await openConsole(app, { email });
    const root = await browser.request(url(app, '/account'));
    expect(root.status).toBe(303);
    expect(root.headers.get('location')).toBe('/account/profile');
  });

  it('keeps the console client built in: operators cannot register its id, and a stored row with it changes nothing', async () => {
    await expect(app.deps.clients.create({ id: 'idp-account', name: 'Impostor', redirectUris: ['https://evil.example/callback'], grantTypes: ['authorization_code'] }))
      .rejects.toMatchObject({ code: 'client.invalid' });
    // A row written past the service (plain SQL, an old version) is never read either.
    await insertClient(app.deps.db, { client_id: 'idp-account', client_name: 'Impostor', redirect_uris: ['https://evil.example/callback'], grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic', client_secret: 'x'.repeat(43) });
    const client = await app.deps.provider.Client.find('idp-account');
    expect(client?.redirectUris).toEqual([url(app, '/account/callback')]);
    expect(client?.clientAuthMethod).toBe('none');
    expect(client?.grantTypes).toEqual(['authorization_code']);
    const { page } = await openConsole(app, { email });
    expect(page.url).toBe(url(app, '/account/security'));
  });

  it('refuses a callback with an unknown state, and one with error=, with a way to try again', async () => {
    const browser = new Browser();
    const bogus = await browser.navigate(url(app, '/account/callback?code=abc&state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'));
    expect(bogus.status).toBe(400);
    expect(bogus.html).toContain('console.sign_in_expired');
    expect(bogus.html).toContain('href="/account/profile"');
    const junk = await browser.navigate(url(app, '/account/callback?state=%00%3Cscript%3E'));
    expect(junk.status).toBe(400);
    const denied = await browser.navigate(url(app, '/account/callback?error=access_denied&state=x'));
    expect(denied.status).toBe(400);
    expect(denied.html).toContain('console.sign_in_denied');
    expect(denied.html).toContain('href="/account/profile"');
  });

  it('refuses a callback finished in another browser (login CSRF)', async () => {
    // Someone signs in to their own account and hands the callback URL to another browser.
    const attacker = new Browser();
    const callback = await callbackOf(app, attacker);
    const planted = await new Browser().navigate(callback);
    expect(planted.status).toBe(400);
    expect(planted.html).toContain('console.sign_in_expired');
  });

  it('refuses a replayed code, and ends what it granted', async () => {
    const browser = new Browser();
    const callback = await callbackOf(app, browser);
    const code = new URL(callback).searchParams.get('code')!;
    expect((await browser.navigate(callback)).url).toBe(url(app, '/account/security'));
    // The same callback again: its state is used up.
    const twice = await browser.navigate(callback);
    expect(twice.status).toBe(400);
    expect(twice.html).toContain('console.sign_in_expired');

    // A fresh state of this browser (a stale session asks for a new sign-in), with the old code.
    clock.advance(301_000);
    const reauth = await browser.request(url(app, '/account/security/totp'));
    const state = new URL(reauth.headers.get('location')!).searchParams.get('state')!;
    const replay = await browser.navigate(url(app, `/account/callback?${new URLSearchParams({ code, state })}`));
    expect(replay.status).toBe(400);
    expect(replay.html).toContain('console.sign_in_invalid');
    expect(replay.html).toContain('used already');
    // The session made from that code is over, and the replay is on record.
    const after = await browser.request(url(app, '/account/security'));
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toContain('/auth?');
    const replays = await auditEvents(app, accountId, 'token.replay_detected');
    expect(replays.at(-1)).toMatchObject({ reason: 'authorization_code_reused', details: { clientId: 'idp-account', token: 'authorization_code' } });
  });

  it('signs out of the console with a CSRF-checked POST, on to the provider\'s sign-out', async () => {
    const { browser, page } = await openConsole(app, { email });
    const refused = await browser.request(url(app, '/account/logout'), { form: { csrf: 'wrong' } });
    expect(refused.status).toBe(403);
    const out = await browser.request(url(app, '/account/logout'), { form: { csrf: csrfOf(page.html) } });
    expect(out.status).toBe(303);
    expect(out.headers.get('location')).toBe(url(app, '/session/end?client_id=idp-account'));
    expect(out.headers.getSetCookie().join('\n')).toMatch(/idp_account=;/);
    const logout = await browser.navigate(out.headers.get('location')!);
    expect(logout.status).toBe(200);
    const after = await browser.request(url(app, '/account/security'));
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toContain('/auth?');
    // Signing out again, with the console session already over, only continues to the provider.
    const again = await browser.request(url(app, '/account/logout'), { form: {} });
    expect(again.status).toBe(303);
    expect(again.headers.get('location')).toBe(url(app, '/session/end?client_id=idp-account'));
  });

  it('ends the console session when the account\'s sessions are revoked, and after idle time', async () => {
    const revoked = await openConsole(app, { email });
    await app.deps.revokeAccountState(accountId);
    expect((await revoked.browser.request(url(app, '/account/security'))).status).toBe(303);

    const idle = await openConsole(app, { email });
    clock.advance(29 * 60_000);
    expect((await idle.browser.request(url(app, '/account/security'))).status).toBe(200);
    clock.advance(29 * 60_000);
    // Used 29 minutes ago: still within the 30 idle minutes, which each use restarts.
    expect((await idle.browser.request(url(app, '/account/security'))).status).toBe(200);
    clock.advance(31 * 60_000);
    expect((await idle.browser.request(url(app, '/account/security'))).status).toBe(303);
  });
});

/** Signs in from /account/security up to the provider's redirect to the callback, which is returned unfollowed. */
async function callbackOf(app: TestApp, browser: Browser): Promise<string> {
  const begun = await browser.request(url(app, '/account/security'));
  const login = await browser.navigate(begun.headers.get('location')!);
  const uid = /\/interaction\/([^/"]+)\/login"/.exec(login.html)![1]!;
  const csrf = /name="csrf" value="([^"]+)"/.exec(login.html)![1]!;
  const step = await browser.follow(url(app, `/interaction/${uid}/login`), url(app, '/account/callback'), { form: { csrf, email: 'ada@example.com', password: 'correct horse battery staple' } });
  if (!('url' in step)) throw new Error(`expected the callback, got:\n${mainOf(step.html)}`);
  return step.url;
}
