import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { decodeJwt } from 'jose';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { testClock } from '../helpers/clock.ts';
import { authorizationRequest, PASSWORD, seedWebClient, signInThroughPages } from '../helpers/oidc.ts';
import { Browser } from '../helpers/browser.ts';

/*
 * Sensitive changes through the account API ask for a recent sign-in, as the console's pages do:
 * the token says when the person signed in (auth_time), and an older one gets RFC 9470's
 * challenge (insufficient_user_authentication, max_age) instead of the change.
 */
describe('the account API\'s sensitive changes', () => {
  const clock = testClock(Date.now());
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;
  let resource: string;

  beforeAll(async () => {
    app = await startTestApp({}, { clock });
    rp = await seedWebClient(app);
    resource = `${app.issuer}/account/api`;
    await app.deps.resources.grant('web-app', resource, ['account:read', 'account:write']);
  });
  afterAll(async () => app?.close());

  async function tokenFor(email: string, password: string): Promise<string> {
    const request = await authorizationRequest(rp.config, { resource, scope: 'openid account:read account:write', prompt: 'login' }, { offline: false });
    const { callback } = await signInThroughPages(new Browser(), request.url, { email, password });
    const tokens = await client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce }, { resource });
    return tokens.access_token;
  }
  const send = (method: string, path: string, token: string, body?: unknown) => fetch(new URL(`/account/api${path}`, app.issuer), {
    method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

  it('changes the password with a fresh token and the current password, and refuses a wrong one', async () => {
    const email = 'fresh@example.com';
    await app.deps.accounts.create({ email, password: PASSWORD, emailVerified: true });
    const token = await tokenFor(email, PASSWORD);
    const wrong = await send('POST', '/password', token, { current: 'not it', password: 'another long passphrase 9' });
    expect(wrong.status).toBe(400);
    expect((await wrong.json() as { message: string }).message).toContain('body.current');
    const changed = await send('POST', '/password', token, { current: PASSWORD, password: 'another long passphrase 9' });
    expect(changed.status).toBe(200);
    expect((await app.deps.accounts.checkCredentials(email, 'another long passphrase 9')).ok).toBe(true);
  });

  it('asks for an email change without telling taken addresses apart, refuses to unlink what is not linked (404), and deletes the account only with the email typed', async () => {
    const email = 'leaving@example.com';
    await app.deps.accounts.create({ email, password: PASSWORD, emailVerified: true });
    const token = await tokenFor(email, PASSWORD);
    expect((await send('DELETE', '/linked/google', token)).status).toBe(404);
    // An email change: the same answer for a free and a taken address; nothing changes until the link is used.
    const free = await send('POST', '/email', token, { email: 'new.home@example.com' });
    expect(free.status).toBe(202);
    expect(await free.json()).toEqual({ sentTo: 'new.home@example.com' });
    const taken = await send('POST', '/email', token, { email: rp.email });
    expect(taken.status).toBe(202);
    expect(await taken.json()).toEqual({ sentTo: rp.email });
    expect((await app.deps.accounts.findByEmail(email))!.email).toBe(email);
    expect((await send('POST', '/email', token, { email: 'not an address' })).status).toBe(400);
    expect((await send('POST', '/deletion', token, { confirm: 'someone@else.example' })).status).toBe(400);
    expect(await app.deps.accounts.findByEmail(email)).not.toBeNull();
    const deleted = await send('POST', '/deletion', token, { confirm: email });
    expect(deleted.status, await deleted.clone().text()).toBe(204);
    expect(await app.deps.accounts.findByEmail(email)).toBeNull();
    // The token of a deleted account acts for nobody.
    expect((await send('GET', '/profile', token)).status).toBe(401);
  });

  // Last: it moves the app's clock past the window.
  it('carries auth_time in the token, and refuses a password change from a sign-in older than ACCOUNT_REAUTH_SECONDS with the step-up challenge', async () => {
    const token = await tokenFor(rp.email, PASSWORD);
    expect(typeof decodeJwt(token).auth_time).toBe('number');
    // The test clock stands still while real time (the token's auth_time) moves on: well past the window.
    clock.advance(600_000);
    const stale = await send('POST', '/password', token, { current: PASSWORD, password: 'another long passphrase 9' });
    expect(stale.status).toBe(401);
    expect(stale.headers.get('www-authenticate')).toBe('Bearer error="insufficient_user_authentication", max_age=300');
    // Reads need no recent sign-in.
    expect((await send('GET', '/profile', token)).status).toBe(200);
  });

});
