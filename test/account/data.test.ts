import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { testClock } from '../helpers/clock.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { authorizationRequest, PASSWORD, REDIRECT_URI, seedWebClient, signInThroughPages } from '../helpers/oidc.ts';
import { insertCredential } from '../../src/mfa/credentials-repository.ts';
import { auditEvents, codeAt, csrfOf, mainOf, openConsole, seedPerson, throughSignIn, url } from './console.ts';

/*
 * "Your data" in the account console, over real HTTP: the download holds everything about the
 * account and no secret of it; deleting the account needs a recent sign-in and the email typed,
 * then every session, grant and token of it is gone, the password no longer signs in, and the
 * audit trail keeps the account's history.
 */

describe('your data: the download and deleting the account', () => {
  const clock = testClock(Date.UTC(2026, 5, 11, 9, 0, 0));
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;
  let tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
  let adaId: string;
  let totpSecret = '';
  let recovery: string[] = [];
  const publicKey = randomBytes(77);
  const credentialId = randomBytes(32).toString('base64url');
  const nextCode = () => {
    clock.advance(30_000);
    return codeAt(totpSecret, clock.now());
  };
  const ada = () => ({ email: 'ada@example.com', code: nextCode });

  beforeAll(async () => {
    app = await startTestApp({}, { clock });
    rp = await seedWebClient(app, { email: 'ada@example.com' });
    adaId = (await app.deps.accounts.findByEmail('ada@example.com'))!.id;
    // An application Ada allowed, holding a refresh token and an access token for her.
    const request = await authorizationRequest(rp.config);
    const { callback, sawConsent } = await signInThroughPages(new Browser(), request.url, { email: 'ada@example.com', password: PASSWORD });
    expect(sawConsent).toBe(true);
    tokens = await client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true });
    expect(tokens.refresh_token).toBeTruthy();
    // Her second steps and a linked Google account.
    const enrolment = await app.deps.mfa.enrolTotp(adaId, 'ada@example.com', 'Pixel');
    totpSecret = enrolment.secret;
    expect(await app.deps.mfa.confirmTotp(adaId, enrolment.factorId, codeAt(totpSecret, clock.now()))).toBe('ok');
    await insertCredential(app.deps.db, {
      accountId: adaId, name: 'Laptop', credentialId, publicKey: new Uint8Array(publicKey), signCount: 0, transports: ['internal'],
      backupEligible: true, backedUp: true, deviceType: 'multiDevice', aaguid: null,
    });
    recovery = await app.deps.mfa.newRecoveryCodes(adaId);
    await app.deps.accountLinks.link({ id: adaId, email: 'ada@example.com' }, 'google', { subject: 'ada-google-sub', email: 'ada.l@gmail.test', emailVerified: true }, { via: 'test', ip: '127.0.0.1' });
    // Someone else, whose data must not appear in Ada's.
    const grace = await seedPerson(app, 'grace@example.com');
    await app.deps.accountLinks.link(grace, 'google', { subject: 'grace-google-sub', email: 'grace@gmail.test', emailVerified: true }, { via: 'test', ip: '10.9.8.7' });
  });
  afterAll(async () => app?.close());

  it('downloads everything held about the account as a JSON file, with no secret in it', async () => {
    const { browser, page } = await openConsole(app, ada(), '/account/data');
    expect(page.url).toBe(url(app, '/account/data'));
    expect(page.html).toContain('href="/account/data/export"');
    expect(page.html).toContain('href="/account/data/delete"');

    const response = await browser.request(url(app, '/account/data/export'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="account-data-2026-06-\d\d\.json"$/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const text = await response.text();
    const data = JSON.parse(text);

    expect(data.profile).toMatchObject({ id: adaId, email: 'ada@example.com', emailVerified: true, name: 'Ada Lovelace', givenName: 'Ada', hasPassword: true });
    expect(data.identities).toEqual([expect.objectContaining({ upstream: 'google', subject: 'ada-google-sub', email: 'ada.l@gmail.test', linkedAt: expect.any(String) })]);
    expect(data.roles.direct).toEqual(['admin', 'staff']);
    expect(data.factors.map((factor: { kind: string; name: string }) => [factor.kind, factor.name])).toEqual([['totp', 'Pixel'], ['webauthn', 'Laptop']]);
    expect(data.factors[1]).toMatchObject({ synced: true, deviceType: 'multiDevice', transports: ['internal'] });
    expect(data.recoveryCodesLeft).toBe(10);
    // The application's grant, and the console's own (it signs in through the provider like any client).
    expect(data.grants).toEqual(expect.arrayContaining([expect.objectContaining({ clientId: 'web-app', scopes: expect.arrayContaining(['openid', 'offline_access']) })]));
    expect(data.sessions.length).toBeGreaterThanOrEqual(1);
    expect(data.sessions.flatMap((session: { clients: string[] }) => session.clients)).toContain('web-app');
    expect(data.consents).toEqual([expect.objectContaining({ clientId: 'web-app', scopes: expect.arrayContaining(['openid', 'email']) })]);
    const events = data.auditEvents.map((event: { event: string }) => event.event);
    expect(events).toEqual(expect.arrayContaining(['login.succeeded', 'federation.linked', 'mfa.succeeded']));

    // No secret: the password hash, the app's secret (clear or sealed), the passkey's key and id,
    // recovery codes and their hashes, any token, or a session id (each is a session cookie's value).
    const { rows: [stored] } = await app.deps.db.query<{ password_hash: string }>('SELECT password_hash FROM accounts WHERE id = $1', [adaId]);
    const { rows: factors } = await app.deps.db.query<{ secret_sealed: string | null }>('SELECT secret_sealed FROM mfa_factors WHERE account_id = $1', [adaId]);
    const { rows: codeHashes } = await app.deps.db.query<{ code_hash: string }>('SELECT code_hash FROM mfa_recovery_codes WHERE account_id = $1', [adaId]);
    const sessionIds = (await app.deps.accountState.listSessions(adaId)).map((session) => session.id);
    const consoleSession = (browser as unknown as { jar: Map<string, Map<string, { value: string }>> }).jar.get('127.0.0.1')!.get('idp_account')!.value;
    const secrets: Array<[string, string]> = [
      ['password hash', stored!.password_hash], ['argon2', '$argon2'], ['TOTP secret', totpSecret],
      ...factors.filter((factor) => factor.secret_sealed).map((factor): [string, string] => ['sealed secret', factor.secret_sealed!]),
      ['public key (base64url)', publicKey.toString('base64url')], ['public key (base64)', publicKey.toString('base64')], ['public key (hex)', publicKey.toString('hex')],
      ['credential id', credentialId],
      ...recovery.map((code): [string, string] => ['recovery code', code]), ...recovery.map((code): [string, string] => ['recovery code', code.replace('-', '')]),
      ...codeHashes.map((row): [string, string] => ['recovery code hash', row.code_hash.split(':').at(-1)!]),
      ['refresh token', tokens.refresh_token!], ['access token', tokens.access_token], ['ID token', tokens.id_token!],
      ...sessionIds.map((id): [string, string] => ['provider session id', id]), ['console session id', consoleSession.split('.')[0]!],
    ];
    expect(sessionIds.length).toBeGreaterThanOrEqual(1);
    for (const [what, secret] of secrets) expect(text.includes(secret), `the export holds the ${what}`).toBe(false);
    // Nobody else's data.
    expect(text).not.toContain('grace');
    expect(text).not.toContain('10.9.8.7');

    expect((await auditEvents(app, adaId, 'account.exported')).at(-1)).toMatchObject({ reason: 'account_console', ip: expect.any(String), user_agent: expect.any(String), details: { actor: 'self' } });
  });

  it('signs in first when signed out, then downloads', async () => {
    const browser = new Browser();
    const start = await browser.request(url(app, '/account/data/export'));
    expect(start.status).toBe(303);
    const back = await throughSignIn(browser, app, await browser.navigate(start.headers.get('location')!), ada());
    expect(back.url).toBe(url(app, '/account/data/export'));
    expect(JSON.parse(back.html).profile.id).toBe(adaId);
  });

  it('refuses to delete without a fresh sign-in, and without the email typed', async () => {
    const { browser, page } = await openConsole(app, ada(), '/account/security');
    clock.advance(301_000);
    expect((await browser.navigate(url(app, '/account/data'))).html).toContain('id="reauth-hint"');
    const stalePage = await browser.request(url(app, '/account/data/delete'));
    expect(stalePage.status).toBe(303);
    expect(new URL(stalePage.headers.get('location')!).searchParams.get('max_age')).toBe('0');
    const stalePost = await browser.request(url(app, '/account/data/delete'), { form: { csrf: csrfOf(page.html), confirmation: 'ada@example.com' } });
    expect(stalePost.status).toBe(303);
    const auth = new URL(stalePost.headers.get('location')!);
    expect(auth.searchParams.get('max_age')).toBe('0');
    expect(auth.searchParams.get('prompt')).toBe('login');
    expect(await app.deps.accounts.findById(adaId)).not.toBeNull();

    // Signed in again (password and code), back at the confirmation.
    const back = await throughSignIn(browser, app, await browser.navigate(auth.href), ada());
    expect(back.sawLogin && back.sawSecondFactor).toBe(true);
    expect(back.url).toBe(url(app, '/account/data/delete'));
    expect(back.html).toMatch(/<label for="delete-confirmation">/);

    const empty = await browser.navigate(url(app, '/account/data/delete'), { csrf: csrfOf(back.html), confirmation: '' });
    expect(empty.status).toBe(400);
    expect(empty.html).toContain('Type the email address of this account to confirm.');
    const wrong = await browser.navigate(url(app, '/account/data/delete'), { csrf: csrfOf(back.html), confirmation: 'grace@example.com' });
    expect(wrong.status).toBe(400);
    expect(wrong.html).toContain('role="alert"');
    expect(wrong.html).toContain('aria-invalid="true"');
    expect(wrong.html).toContain('This is not the email address of this account.');
    expect((await browser.request(url(app, '/account/data/delete'), { form: { confirmation: 'ada@example.com' } })).status).toBe(403);
    expect(await app.deps.accounts.findById(adaId)).not.toBeNull();
    expect(await app.deps.accounts.findByEmail('grace@example.com')).not.toBeNull();
  });

  it('deletes the account: every session and token ends, the password no longer signs in, the audit trail stays', async () => {
    const other = await openConsole(app, ada(), '/account/security');
    const { browser, page } = await openConsole(app, ada(), '/account/data/delete');
    expect(page.url, mainOf(page.html)).toBe(url(app, '/account/data/delete'));
    const done = await browser.request(url(app, '/account/data/delete'), { form: { csrf: csrfOf(page.html), confirmation: '  ADA@example.com ' } });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/account/deleted');
    const deleted = await browser.navigate(url(app, '/account/deleted'));
    expect(deleted.status).toBe(200);
    expect(deleted.html).toContain('Your account has been deleted');
    expect(deleted.html).not.toContain('class="account-nav"');

    expect(await app.deps.accounts.findById(adaId)).toBeNull();
    expect(await app.deps.accountState.listSessions(adaId)).toEqual([]);
    expect(await app.deps.accountState.listGrants(adaId)).toEqual([]);
    await expect(client.refreshTokenGrant(rp.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(client.fetchUserInfo(rp.config, tokens.access_token, adaId)).rejects.toBeDefined();
    const { rows: [left] } = await app.deps.db.query<{ identities: string; factors: string; consents: string }>(
      `SELECT (SELECT count(*) FROM federated_identities WHERE account_id = $1) AS identities, (SELECT count(*) FROM mfa_factors WHERE account_id = $1) AS factors,
              (SELECT count(*) FROM consents WHERE account_id = $1) AS consents`, [adaId],
    );
    expect(left).toEqual({ identities: '0', factors: '0', consents: '0' });

    // The console: this browser and the other one are signed out (each is sent to sign in).
    for (const signedOut of [browser, other.browser]) {
      const again = await signedOut.request(url(app, '/account/data'));
      expect(again.status).toBe(303);
      expect(new URL(again.headers.get('location')!).pathname).toBe('/auth');
    }
    // The password no longer signs in.
    const stranger = new Browser();
    const login = await stranger.follow((await authorizationRequest(rp.config, {}, { offline: false })).url, REDIRECT_URI);
    if (!('page' in login)) throw new Error('expected the login page');
    const form = readForm(login.html, '/login');
    const refused = await stranger.follow(new URL(form.action, app.issuer), REDIRECT_URI, { form: { ...form.fields, email: 'ada@example.com', password: PASSWORD } });
    if (!('page' in refused)) throw new Error(`signed in after all: ${refused.url}`);
    expect(refused.page.status, mainOf(refused.html)).toBe(400);
    expect(refused.html).toContain('Incorrect email or password.');

    // The history stays, with the deletion by the person at its end.
    expect((await auditEvents(app, adaId, 'account.deleted'))).toEqual([expect.objectContaining({ details: { actor: 'self' } })]);
    expect((await auditEvents(app, adaId, 'login.succeeded')).length).toBeGreaterThanOrEqual(1);
    expect((await auditEvents(app, adaId, 'account.exported')).length).toBeGreaterThanOrEqual(1);
    // Nobody else was touched.
    expect(await app.deps.accounts.findByEmail('grace@example.com')).not.toBeNull();
  });
});
