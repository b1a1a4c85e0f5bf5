import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOTP } from 'otpauth';
import * as client from 'openid-client';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { testClock } from '../helpers/clock.ts';
import { authorizationRequest, PASSWORD, REDIRECT_URI, seedWebClient } from '../helpers/oidc.ts';
import { Browser, readForm } from '../helpers/browser.ts';

/*
 * Password + second factor over real HTTP, the way a browser without JavaScript does it: forms
 * only. The code step is bound to the interaction server-side and wrong codes count toward the
 * password lockout.
 */

type Rp = Awaited<ReturnType<typeof seedWebClient>>;
const codeAt = (secret: string, ms: number) => new TOTP({ secret, digits: 6, period: 30, algorithm: 'SHA1' }).generate({ timestamp: ms });

async function passwordStep(rp: Rp, app: TestApp, email: string) {
  const browser = new Browser();
  const request = await authorizationRequest(rp.config, {}, { offline: false });
  const login = await browser.follow(request.url, REDIRECT_URI);
  if (!('html' in login)) throw new Error('expected the login page');
  const form = readForm(login.html, '/login');
  const next = await browser.follow(new URL(form.action, app.issuer), REDIRECT_URI, { form: { ...form.fields, email, password: PASSWORD } });
  if (!('html' in next)) throw new Error(`expected the second-factor page, went to ${next.url}`);
  return { browser, request, page: next };
}

/** Posts the second-factor form; allows the consent page if one follows. Returns where the browser ended. */
async function submitCode(browser: Browser, app: TestApp, html: string, fields: Record<string, string>) {
  const form = readForm(html, '/second-factor');
  let step = await browser.follow(new URL(form.action, app.issuer), REDIRECT_URI, { form: { ...form.fields, ...fields } });
  if ('html' in step && step.html.includes('/confirm"')) {
    const consent = readForm(step.html, '/confirm');
    step = await browser.follow(new URL(consent.action, app.issuer), REDIRECT_URI, { form: consent.fields });
  }
  return step;
}

describe('sign-in with a password and a second factor', () => {
  const clock = testClock(Date.UTC(2026, 5, 1, 9, 0, 0));
  let app: TestApp;
  let rp: Rp;
  let accountId: string;
  let secret: string;
  let recovery: string[];

  beforeAll(async () => {
    // The per-factor limit (10 per 15 min by default) is raised here so the lockout shows; it has its own test below.
    app = await startTestApp({ LOCKOUT_THRESHOLD: '12', LOCKOUT_STEP_SECONDS: '60', LIMIT_SECOND_FACTOR_FAILURES: '100/15m' }, { clock });
    rp = await seedWebClient(app);
    accountId = (await app.deps.accounts.findByEmail(rp.email))!.id;
    const enrolment = await app.deps.mfa.enrolTotp(accountId, rp.email);
    secret = enrolment.secret;
    expect(await app.deps.mfa.confirmTotp(accountId, enrolment.factorId, codeAt(secret, clock.now()))).toBe('ok');
    recovery = await app.deps.mfa.newRecoveryCodes(accountId);
  });
  afterAll(async () => app?.close());

  it('asks for a code after the password, and signs in with pwd, otp and mfa in amr', async () => {
    clock.advance(30_000);
    const { browser, request, page } = await passwordStep(rp, app, rp.email);
    expect(page.html).toContain('/second-factor"');
    expect(page.html).toContain('autocomplete="one-time-code"');
    const done = await submitCode(browser, app, page.html, { code: codeAt(secret, clock.now()) });
    if (!("url" in done)) throw new Error(`expected the redirect, got:\n${done.html.slice(done.html.indexOf("<main"), done.html.indexOf("</main>"))}`);
    const tokens = await client.authorizationCodeGrant(rp.config, new URL(done.url), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
    expect(tokens.claims()!.amr).toEqual(['pwd', 'otp', 'mfa']);
  });

  it('refuses the same code twice, and a code outside the drift window', async () => {
    clock.advance(30_000);
    const code = codeAt(secret, clock.now());
    const first = await passwordStep(rp, app, rp.email);
    expect('url' in await submitCode(first.browser, app, first.page.html, { code })).toBe(true);
    const second = await passwordStep(rp, app, rp.email);
    const again = readForm(second.page.html, '/second-factor');
    const replayed = await second.browser.follow(new URL(again.action, app.issuer), REDIRECT_URI, { form: { ...again.fields, code } });
    expect('html' in replayed && replayed.page.status).toBe(400);
    const far = await second.browser.follow(new URL(again.action, app.issuer), REDIRECT_URI, { form: { ...again.fields, code: codeAt(secret, clock.now() + 90_000) } });
    expect('html' in far && far.html).toContain('role="alert"');
  });

  it('cannot skip the code step: the login prompt is not finished by the password alone', async () => {
    const { browser, page } = await passwordStep(rp, app, rp.email);
    const uid = /\/interaction\/([^/"]+)\/second-factor"/.exec(page.html)![1]!;
    // Back to the interaction: still the login page, no redirect to the application.
    const back = await browser.follow(new URL(`/interaction/${uid}`, app.issuer), REDIRECT_URI);
    expect('html' in back && back.html).toContain('/login"');
    // A second-factor post from another browser (no interaction cookie) goes nowhere.
    const form = readForm(page.html, '/second-factor');
    const stranger = await new Browser().request(new URL(form.action, app.issuer), { form: { ...form.fields, code: codeAt(secret, clock.now()) } });
    expect(stranger.status).toBe(400);
  });

  it('signs in with a recovery code exactly once per code', async () => {
    for (const attempt of [0, 1]) {
      const { browser, page } = await passwordStep(rp, app, rp.email);
      const recoveryPage = await browser.navigate(new URL(`${new URL(readForm(page.html, '/second-factor').action, app.issuer).pathname}?method=recovery`, app.issuer).href);
      expect(readForm(recoveryPage.html, '/second-factor').fields.method).toBe('recovery');
      const done = await submitCode(browser, app, recoveryPage.html, { code: recovery[0]! });
      if (attempt === 1) {
        expect('html' in done && done.page.status).toBe(400);
        continue;
      }
      // The code worked: a page says how many are left and suggests new ones, then continues.
      if (!('html' in done)) throw new Error('expected the recovery-code notice');
      expect(done.html).toContain('You have 9 recovery codes left.');
      expect(done.html).toContain('href="/account/security"');
      const onward = /<a class="button" href="([^"]+)"/.exec(done.html)![1]!.replace(/&amp;/g, '&');
      let step = await browser.follow(new URL(onward, app.issuer), REDIRECT_URI);
      if ('html' in step && step.html.includes('/confirm"')) {
        const consent = readForm(step.html, '/confirm');
        step = await browser.follow(new URL(consent.action, app.issuer), REDIRECT_URI, { form: consent.fields });
      }
      expect('url' in step).toBe(true);
    }
  });

  it('locks the account after repeated wrong codes, like wrong passwords', async () => {
    const { browser, page } = await passwordStep(rp, app, rp.email);
    const form = readForm(page.html, '/second-factor');
    for (let i = 0; i < 12; i++) await browser.follow(new URL(form.action, app.issuer), REDIRECT_URI, { form: { ...form.fields, code: '000000' } });
    const { rows } = await app.deps.db.query<{ count: string }>("SELECT count(*) FROM audit_events WHERE event = 'account.locked' AND account_id = $1", [accountId]);
    expect(Number(rows[0]!.count)).toBeGreaterThanOrEqual(1);
    // While locked even the right code is refused.
    const locked = await browser.follow(new URL(form.action, app.issuer), REDIRECT_URI, { form: { ...form.fields, code: codeAt(secret, clock.now() + 30_000) } });
    expect('html' in locked).toBe(true);
    const failures = await app.deps.db.query<{ count: string }>("SELECT count(*) FROM audit_events WHERE event = 'mfa.failed' AND account_id = $1", [accountId]);
    expect(Number(failures.rows[0]!.count)).toBeGreaterThanOrEqual(5);
  });
});

describe('the per-factor limit on wrong codes', () => {
  const clock = testClock(Date.UTC(2026, 5, 2, 9, 0, 0));
  let app: TestApp;
  let rp: Rp;
  let secret: string;

  beforeAll(async () => {
    app = await startTestApp({}, { clock });
    rp = await seedWebClient(app);
    const accountId = (await app.deps.accounts.findByEmail(rp.email))!.id;
    const enrolment = await app.deps.mfa.enrolTotp(accountId, rp.email);
    secret = enrolment.secret;
    expect(await app.deps.mfa.confirmTotp(accountId, enrolment.factorId, codeAt(secret, clock.now()))).toBe('ok');
  });
  afterAll(async () => app?.close());

  it('refuses codes with 429 after ten wrong ones in 15 minutes, below the password lockout, and takes them again after the window', async () => {
    const { browser, page } = await passwordStep(rp, app, rp.email);
    const form = readForm(page.html, '/second-factor');
    for (let i = 0; i < 10; i++) {
      const wrong = await browser.follow(new URL(form.action, app.issuer), REDIRECT_URI, { form: { ...form.fields, code: '000000' } });
      expect('html' in wrong && wrong.page.status).toBe(400);
    }
    clock.advance(30_000);
    const limited = await browser.follow(new URL(form.action, app.issuer), REDIRECT_URI, { form: { ...form.fields, code: codeAt(secret, clock.now()) } });
    expect('html' in limited && limited.page.status).toBe(429);
    const { rows } = await app.deps.db.query<{ reason: string }>("SELECT reason FROM audit_events WHERE event = 'mfa.failed' ORDER BY id DESC LIMIT 1");
    expect(rows[0]!.reason).toBe('factor_limit');
    clock.advance(16 * 60_000);
    const again = await passwordStep(rp, app, rp.email);
    const done = await submitCode(again.browser, app, again.page.html, { code: codeAt(secret, clock.now()) });
    expect('url' in done).toBe(true);
    // Each outcome is counted for the operator's dashboards.
    const metrics = await (await fetch(new URL('/metrics', app.issuer))).text();
    expect(metrics).toContain('idp_second_factor_total{method="totp",outcome="invalid"} 10');
    expect(metrics).toContain('idp_second_factor_total{method="totp",outcome="factor_limited"} 1');
    expect(metrics).toContain('idp_second_factor_total{method="totp",outcome="success"} 1');
  });
});
