import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { authorizationRequest, PASSWORD, REDIRECT_URI, seedWebClient } from '../helpers/oidc.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { createSoftAuthenticator, type SoftAuthenticator } from '../helpers/soft-authenticator.ts';

/*
 * Passkeys in the sign-in over real HTTP, as views/passkey.js drives them (JSON posts with the
 * page's CSRF token), with a software authenticator: the whole sign-in on the login page, the
 * second step after a password, and a step-up to the phishing-resistant level.
 */

type Rp = Awaited<ReturnType<typeof seedWebClient>>;
type Step = Awaited<ReturnType<Browser['follow']>>;
const isPage = (step: Step): step is Extract<Step, { html: string }> => 'html' in step;

async function tokens(rp: Rp, request: Awaited<ReturnType<typeof authorizationRequest>>, location: string, browser: Browser, app: TestApp) {
  let step = await browser.follow(new URL(location, app.issuer), REDIRECT_URI);
  if (isPage(step) && /\/interaction\/[^/"]+\/confirm"/.test(step.html)) {
    const consent = readForm(step.html, '/confirm');
    step = await browser.follow(new URL(consent.action, app.issuer), REDIRECT_URI, { form: consent.fields });
  }
  if (isPage(step)) throw new Error(`expected the redirect to the application, got ${step.pageUrl}`);
  const result = await client.authorizationCodeGrant(rp.config, new URL(step.url), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
  return result.claims()!;
}

/** The page's passkey ceremony: options, the authenticator, the assertion. */
async function ceremony(browser: Browser, app: TestApp, page: { html: string }, authenticator: SoftAuthenticator, knobs: Parameters<SoftAuthenticator['authenticate']>[1] = {}) {
  const uid = /data-passkey-options="\/interaction\/([^/"]+)\/passkey\/options"/.exec(page.html)![1]!;
  const csrf = /name="csrf" value="([^"]+)"/.exec(page.html)![1]!;
  const options = await browser.request(new URL(`/interaction/${uid}/passkey/options`, app.issuer), { json: { csrf } });
  expect(options.status).toBe(200);
  const response = authenticator.authenticate(await options.json() as never, knobs);
  const verify = await browser.request(new URL(`/interaction/${uid}/passkey`, app.issuer), { json: { csrf, response } });
  return { status: verify.status, body: await verify.json() as { location?: string; error?: string }, uid, csrf, response };
}

describe('passkeys in the sign-in', () => {
  let app: TestApp;
  let rp: Rp;

  beforeAll(async () => {
    app = await startTestApp();
    rp = await seedWebClient(app);
  });
  afterAll(async () => app?.close());

  const origin = () => new URL(app.issuer).origin;
  async function withPasskey(email: string, knobs: Parameters<SoftAuthenticator['register']>[1] = {}) {
    const account = await app.deps.accounts.create({ email, password: PASSWORD, emailVerified: true });
    const authenticator = createSoftAuthenticator({ origin: origin(), rpId: new URL(app.issuer).hostname });
    const options = await app.deps.webauthn.registrationOptions(`test:${email}`, { id: account.id, email });
    const registered = await app.deps.webauthn.verifyRegistration(`test:${email}`, account.id, authenticator.register(options, knobs), 'Test key');
    expect(registered.ok).toBe(true);
    return { account, authenticator };
  }

  it('signs in with a passkey alone from the login page: amr hwk, user, mfa and acr phishing-resistant', async () => {
    const { account, authenticator } = await withPasskey('passwordless@example.com');
    const browser = new Browser();
    const request = await authorizationRequest(rp.config, {}, { offline: false });
    const login = await browser.follow(request.url, REDIRECT_URI);
    if (!isPage(login)) throw new Error('expected the login page');
    expect(login.html).toContain('autocomplete="username webauthn"');
    const result = await ceremony(browser, app, login, authenticator);
    expect(result.status).toBe(200);
    const claims = await tokens(rp, request, result.body.location!, browser, app);
    expect(claims.sub).toBe(account.id);
    expect(claims.amr).toEqual(['hwk', 'user', 'mfa']);
    expect(claims.acr).toBe('phishing-resistant');
    const { rows } = await app.deps.db.query<{ details: { method?: string } }>("SELECT details FROM audit_events WHERE account_id = $1 AND event = 'login.succeeded'", [account.id]);
    expect(rows.map((row) => row.details?.method)).toEqual(['passkey']);
  });

  it('refuses a passwordless assertion without user verification, a replayed one and one without the CSRF token', async () => {
    const { authenticator } = await withPasskey('refusals@example.com');
    const browser = new Browser();
    const request = await authorizationRequest(rp.config, {}, { offline: false });
    const login = await browser.follow(request.url, REDIRECT_URI);
    if (!isPage(login)) throw new Error('expected the login page');
    const noUv = await ceremony(browser, app, login, authenticator, { userVerified: false });
    expect(noUv.status).toBe(400);
    expect(noUv.body.error).toMatch(/passkey/i);
    const good = await ceremony(browser, app, login, authenticator);
    expect(good.status).toBe(200);
    // The challenge was used: the same assertion again is refused.
    const replay = await browser.request(new URL(`/interaction/${good.uid}/passkey`, app.issuer), { json: { csrf: good.csrf, response: good.response } });
    expect(replay.status).toBeGreaterThanOrEqual(400);
    const noCsrf = await new Browser().request(new URL(`/interaction/${good.uid}/passkey/options`, app.issuer), { json: {} });
    expect(noCsrf.status).toBeGreaterThanOrEqual(400);
    expect(noCsrf.status).toBeLessThan(500);
  });

  it('asks an account with a passkey for it after the password, and says swk for a synced passkey', async () => {
    const { account, authenticator } = await withPasskey('second@example.com', { backupEligible: true });
    const browser = new Browser();
    const request = await authorizationRequest(rp.config, {}, { offline: false });
    const login = await browser.follow(request.url, REDIRECT_URI);
    if (!isPage(login)) throw new Error('expected the login page');
    const form = readForm(login.html, '/login');
    const page = await browser.follow(new URL(form.action, app.issuer), REDIRECT_URI, { form: { ...form.fields, email: 'second@example.com', password: PASSWORD } });
    if (!isPage(page)) throw new Error('expected the second-factor page');
    expect(page.html).toContain('data-passkey="authenticate"');
    const result = await ceremony(browser, app, page, authenticator);
    expect(result.status).toBe(200);
    const claims = await tokens(rp, request, result.body.location!, browser, app);
    expect(claims.sub).toBe(account.id);
    expect(claims.amr).toEqual(['pwd', 'swk', 'user', 'mfa']);
    expect(claims.acr).toBe('phishing-resistant');
  });

  it('steps a password session up to phishing-resistant with a passkey, without the password again', async () => {
    const email = 'stepup-passkey@example.com';
    const account = await app.deps.accounts.create({ email, password: PASSWORD, emailVerified: true });
    const browser = new Browser();
    const first = await authorizationRequest(rp.config, {}, { offline: false });
    const login = await browser.follow(first.url, REDIRECT_URI);
    if (!isPage(login)) throw new Error('expected the login page');
    const form = readForm(login.html, '/login');
    let signedIn = await browser.follow(new URL(form.action, app.issuer), REDIRECT_URI, { form: { ...form.fields, email, password: PASSWORD } });
    if (isPage(signedIn) && signedIn.html.includes('/confirm"')) {
      const consent = readForm(signedIn.html, '/confirm');
      signedIn = await browser.follow(new URL(consent.action, app.issuer), REDIRECT_URI, { form: consent.fields });
    }
    if (isPage(signedIn)) throw new Error('expected the application');
    expect((await client.authorizationCodeGrant(rp.config, new URL(signedIn.url), { pkceCodeVerifier: first.verifier, expectedState: first.state, expectedNonce: first.nonce })).claims()!.acr).toBe('password');
    // A passkey is added afterwards; then the application asks for the phishing-resistant level.
    const authenticator = createSoftAuthenticator({ origin: origin(), rpId: new URL(app.issuer).hostname });
    const options = await app.deps.webauthn.registrationOptions('test:stepup', { id: account.id, email });
    expect((await app.deps.webauthn.verifyRegistration('test:stepup', account.id, authenticator.register(options), 'Key')).ok).toBe(true);
    const stepUp = await authorizationRequest(rp.config, { acr_values: 'phishing-resistant' }, { offline: false });
    const page = await browser.follow(stepUp.url, REDIRECT_URI);
    if (!isPage(page)) throw new Error('expected the second-factor page');
    expect(page.pageUrl).toContain('/second-factor');
    expect(page.html).not.toContain('type="password"');
    // Only the passkey: a code could be relayed by a look-alike site.
    expect(page.html).not.toContain('autocomplete="one-time-code"');
    const result = await ceremony(browser, app, page, authenticator);
    expect(result.status).toBe(200);
    const claims = await tokens(rp, stepUp, result.body.location!, browser, app);
    expect(claims.acr).toBe('phishing-resistant');
    expect(claims.amr).toEqual(['pwd', 'hwk', 'user', 'mfa']);
  });
});
