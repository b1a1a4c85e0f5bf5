import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOTP } from 'otpauth';
import * as client from 'openid-client';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { testClock } from '../helpers/clock.ts';
import { authorizationRequest, PASSWORD, REDIRECT_URI, seedWebClient } from '../helpers/oidc.ts';
import { Browser, readForm } from '../helpers/browser.ts';

/*
 * Levels and step-up over real HTTP, without JavaScript: what a relying party asks for with
 * acr_values or an essential acr, what the operator's policy asks (everyone, by role, by
 * client), and what the ID token then says (acr, amr). A session is asked only for what it lacks.
 */

type Rp = Awaited<ReturnType<typeof seedWebClient>>;
type Step = Awaited<ReturnType<Browser['follow']>>;
const codeAt = (secret: string, ms: number) => new TOTP({ secret, digits: 6, period: 30, algorithm: 'SHA1' }).generate({ timestamp: ms });
const isPage = (step: Step): step is Extract<Step, { html: string }> => 'html' in step;

async function enrolTotp(app: TestApp, accountId: string, email: string, now: number): Promise<string> {
  const enrolment = await app.deps.mfa.enrolTotp(accountId, email);
  expect(await app.deps.mfa.confirmTotp(accountId, enrolment.factorId, codeAt(enrolment.secret, now))).toBe('ok');
  return enrolment.secret;
}

/** Posts a form of the page and allows a consent page if one follows. */
async function post(browser: Browser, app: TestApp, html: string, suffix: string, fields: Record<string, string> = {}): Promise<Step> {
  const form = readForm(html, suffix);
  let step = await browser.follow(new URL(form.action, app.issuer), REDIRECT_URI, { form: { ...form.fields, ...fields } });
  // The consent page (its form posts to /interaction/<uid>/confirm), when the client has none yet.
  if (isPage(step) && /\/interaction\/[^/"]+\/confirm"/.test(step.html)) step = await post(browser, app, step.html, '/confirm');
  return step;
}

async function tokens(rp: Rp, request: Awaited<ReturnType<typeof authorizationRequest>>, step: Step) {
  if (isPage(step)) throw new Error(`expected the redirect to the application, got a page:\n${step.html.slice(step.html.indexOf('<main'), step.html.indexOf('</main>'))}`);
  const result = await client.authorizationCodeGrant(rp.config, new URL(step.url), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
  return result.claims()!;
}

describe('authentication levels and step-up', () => {
  const clock = testClock(Date.UTC(2026, 6, 1, 9, 0, 0));
  let app: TestApp;
  let rp: Rp;

  beforeAll(async () => {
    app = await startTestApp({ MFA_REQUIRED_ROLES: 'finance', MFA_TRUST_BROWSER_DAYS: '30' }, { clock });
    rp = await seedWebClient(app);
  });
  afterAll(async () => app?.close());

  it('advertises the levels, amr and the claims parameter in discovery', async () => {
    const discovery = await (await fetch(new URL('/.well-known/openid-configuration', app.issuer))).json() as Record<string, unknown>;
    expect(discovery.acr_values_supported).toEqual(['password', 'mfa', 'phishing-resistant']);
    expect(discovery.claims_supported).toEqual(expect.arrayContaining(['acr', 'amr']));
    expect(discovery.claims_parameter_supported).toBe(true);
  });

  it('says acr=password and amr=[pwd] for a password sign-in, and asks a session for a second factor when the application asks for mfa', async () => {
    const email = 'step@example.com';
    const account = await app.deps.accounts.create({ email, password: PASSWORD, emailVerified: true });
    const browser = new Browser();
    const first = await authorizationRequest(rp.config, {}, { offline: false });
    const login = await browser.follow(first.url, REDIRECT_URI);
    const claims = await tokens(rp, first, await post(browser, app, isPage(login) ? login.html : '', '/login', { email, password: PASSWORD }));
    expect(claims.acr).toBe('password');
    expect(claims.amr).toEqual(['pwd']);

    // The person adds an authenticator app; the application then asks this session for more.
    clock.advance(30_000);
    const secret = await enrolTotp(app, account.id, email, clock.now());
    clock.advance(30_000);
    const stepUp = await authorizationRequest(rp.config, { acr_values: 'mfa' }, { offline: false });
    const page = await browser.follow(stepUp.url, REDIRECT_URI);
    if (!isPage(page)) throw new Error('expected the second-factor page');
    // Only the missing factor: no password field.
    expect(page.pageUrl).toContain('/second-factor');
    expect(page.html).not.toContain('type="password"');
    const upgraded = await tokens(rp, stepUp, await post(browser, app, page.html, '/second-factor', { code: codeAt(secret, clock.now()) }));
    expect(upgraded.acr).toBe('mfa');
    expect(upgraded.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect(upgraded.sub).toBe(account.id);

    // The session now has the level: the same request passes without a page.
    const again = await authorizationRequest(rp.config, { acr_values: 'mfa' }, { offline: false });
    expect((await tokens(rp, again, await browser.follow(again.url, REDIRECT_URI))).acr).toBe('mfa');
  });

  it('honours an essential acr in the claims parameter, and prompt=none answers login_required when a step-up is needed', async () => {
    const email = 'essential@example.com';
    const account = await app.deps.accounts.create({ email, password: PASSWORD, emailVerified: true });
    const browser = new Browser();
    const first = await authorizationRequest(rp.config, {}, { offline: false });
    const login = await browser.follow(first.url, REDIRECT_URI);
    await tokens(rp, first, await post(browser, app, isPage(login) ? login.html : '', '/login', { email, password: PASSWORD }));
    clock.advance(30_000);
    const secret = await enrolTotp(app, account.id, email, clock.now());
    clock.advance(30_000);

    const silent = await authorizationRequest(rp.config, { acr_values: 'mfa', prompt: 'none' }, { offline: false });
    const refused = await browser.follow(silent.url, REDIRECT_URI);
    if (isPage(refused)) throw new Error('expected a redirect with an error');
    expect(new URL(refused.url).searchParams.get('error')).toBe('login_required');

    const claimsRequest = JSON.stringify({ id_token: { acr: { essential: true, values: ['mfa'] } } });
    const essential = await authorizationRequest(rp.config, { claims: claimsRequest }, { offline: false });
    const page = await browser.follow(essential.url, REDIRECT_URI);
    if (!isPage(page)) throw new Error('expected the second-factor page');
    const claims = await tokens(rp, essential, await post(browser, app, page.html, '/second-factor', { code: codeAt(secret, clock.now()) }));
    expect(claims.acr).toBe('mfa');
  });

  it('makes holders of a required role enrol during sign-in; the first code finishes it and recovery codes are shown once', async () => {
    const email = 'finance@example.com';
    const account = await app.deps.accounts.create({ email, password: PASSWORD, emailVerified: true, roles: ['finance'] });
    const browser = new Browser();
    const request = await authorizationRequest(rp.config, {}, { offline: false });
    const login = await browser.follow(request.url, REDIRECT_URI);
    const enrol = await post(browser, app, isPage(login) ? login.html : '', '/login', { email, password: PASSWORD });
    if (!isPage(enrol)) throw new Error('expected the enrolment page');
    expect(enrol.pageUrl).toContain('/enrol');
    // Nothing but enrolment finishes the sign-in: back at the interaction is the login page.
    const totpPage = await post(browser, app, enrol.html, '/enrol/totp');
    if (!isPage(totpPage)) throw new Error('expected the authenticator-app page');
    expect(totpPage.html).toContain('<img class="qr" src="data:image/svg+xml;base64,');
    const secret = /<code class="secret" id="totp-secret">([A-Z2-7 ]+)<\/code>/.exec(totpPage.html)![1]!.replace(/ /g, '');
    const wrong = await post(browser, app, totpPage.html, '/enrol/totp/confirm', { code: '000000' });
    expect(isPage(wrong) && wrong.page.status).toBe(400);
    expect(isPage(wrong) && wrong.html).toContain(secret.match(/.{1,4}/g)!.join(' '));
    const codes = await post(browser, app, totpPage.html, '/enrol/totp/confirm', { code: codeAt(secret, clock.now()) });
    if (!isPage(codes)) throw new Error('expected the recovery codes');
    const shown = [...codes.html.matchAll(/<li><code>([^<]+)<\/code><\/li>/g)].map((match) => match[1]);
    expect(shown).toHaveLength(10);
    // A reload does not show them again.
    const reload = await browser.follow(new URL(codes.pageUrl), REDIRECT_URI);
    expect(isPage(reload) && reload.html).not.toContain(shown[0]);
    const claims = await tokens(rp, request, await post(browser, app, codes.html, '/enrol/done'));
    expect(claims.acr).toBe('mfa');
    expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect((await app.deps.mfa.listFactors(account.id)).filter((factor) => factor.confirmed)).toHaveLength(1);
    expect(await app.deps.mfa.recoveryCodesLeft(account.id)).toBe(10);
    const { rows } = await app.deps.db.query<{ event: string }>("SELECT event FROM audit_events WHERE account_id = $1 AND event = 'mfa.enrolled'", [account.id]);
    expect(rows).toHaveLength(1);
  });

  it('makes everyone signing in to a client with minimum_acr=mfa enrol, and leaves other clients alone', async () => {
    const { secret: clientSecret } = await app.deps.clients.create({ id: 'strict-app', name: 'Strict App', redirectUris: [REDIRECT_URI], minimumAcr: 'mfa' });
    const strict = await client.discovery(new URL(app.issuer), 'strict-app', undefined, client.ClientSecretBasic(clientSecret!), { execute: [client.allowInsecureRequests] });
    const email = 'plain@example.com';
    await app.deps.accounts.create({ email, password: PASSWORD, emailVerified: true });
    const browser = new Browser();
    const relaxed = await authorizationRequest(rp.config, {}, { offline: false });
    const login = await browser.follow(relaxed.url, REDIRECT_URI);
    expect((await tokens(rp, relaxed, await post(browser, app, isPage(login) ? login.html : '', '/login', { email, password: PASSWORD }))).acr).toBe('password');
    // The same session at the strict client: enrolment, not the password again.
    const request = await authorizationRequest(strict, {}, { offline: false });
    const page = await browser.follow(request.url, REDIRECT_URI);
    if (!isPage(page)) throw new Error('expected the enrolment page');
    expect(page.pageUrl).toContain('/enrol');
    expect(page.html).not.toContain('type="password"');
  });

  it('refuses to finish a phishing-resistant request with a code, and says a passkey is needed', async () => {
    const email = 'codes-only@example.com';
    const account = await app.deps.accounts.create({ email, password: PASSWORD, emailVerified: true });
    const secret = await enrolTotp(app, account.id, email, clock.now());
    clock.advance(30_000);
    const browser = new Browser();
    const request = await authorizationRequest(rp.config, { acr_values: 'phishing-resistant' }, { offline: false });
    const login = await browser.follow(request.url, REDIRECT_URI);
    const page = await post(browser, app, isPage(login) ? login.html : '', '/login', { email, password: PASSWORD });
    if (!isPage(page)) throw new Error('expected a page');
    expect(page.html).toContain('A passkey is needed');
    const uid = /\/interaction\/([^/"]+)\/abort/.exec(page.html)![1]!;
    const csrf = readForm(page.html, '/abort').fields.csrf!;
    // A code posted anyway is refused: the level needs a passkey.
    const forced = await browser.follow(new URL(`/interaction/${uid}/second-factor`, app.issuer), REDIRECT_URI, { form: { csrf, method: 'totp', code: codeAt(secret, clock.now()) } });
    expect(isPage(forced) && forced.page.status).toBe(400);
  });

  it('trusts a browser for the configured days after a second factor, on that browser only', async () => {
    const email = 'trust@example.com';
    const account = await app.deps.accounts.create({ email, password: PASSWORD, emailVerified: true });
    clock.advance(30_000);
    const secret = await enrolTotp(app, account.id, email, clock.now());
    const signIn = async (browser: Browser, trust: boolean) => {
      clock.advance(30_000);
      const request = await authorizationRequest(rp.config, { prompt: 'login' }, { offline: false });
      const login = await browser.follow(request.url, REDIRECT_URI);
      let step = await post(browser, app, isPage(login) ? login.html : '', '/login', { email, password: PASSWORD });
      const asked = isPage(step) && step.pageUrl.includes('/second-factor');
      if (asked && isPage(step)) {
        expect(step.html).toContain('name="trust"');
        step = await post(browser, app, step.html, '/second-factor', { code: codeAt(secret, clock.now()), ...(trust ? { trust: 'yes' } : {}) });
      }
      return { asked, claims: await tokens(rp, request, step) };
    };
    const browser = new Browser();
    expect((await signIn(browser, false)).asked).toBe(true);
    expect((await signIn(browser, true)).asked).toBe(true);
    const trusted = await signIn(browser, false);
    expect(trusted.asked).toBe(false);
    expect(trusted.claims.acr).toBe('mfa');
    expect((await signIn(new Browser(), false)).asked).toBe(true);
    clock.advance(31 * 86_400_000);
    expect((await signIn(browser, false)).asked).toBe(true);
  });
});
