import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { seedWebClient, PASSWORD, REDIRECT_URI } from '../helpers/oidc.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { startFakeOidcUpstream, type FakeOidcUpstream } from '../helpers/fake-oidc-upstream.ts';
import { launchChromium, warnIfChromiumMissing } from '../helpers/chromium.ts';
import { axeFindings, axeSource, controlEdgeProblems, focusProblems, overflowProblems } from '../helpers/axe.ts';
import { PageTour, type TourWorld } from '../helpers/page-tour.ts';
import { TOTP } from 'otpauth';

/*
 * Every page the provider serves, reached through the flows a person takes in Chromium, checked
 * with axe-core (WCAG 2.2 A/AA and best practices) in light mode, dark mode and at a phone's
 * width, plus what axe leaves out: a visible focus ring, form fields and buttons that stand out
 * at 3:1, and no sideways scrolling. Each page is reached once per language and then checked
 * under each mode: colour scheme and viewport are emulated on the live page, so pages that only
 * a POST leads to need no second walk.
 *
 * To add a page: one line in `pages`. To add a language: one entry in `languages`.
 */

/** Each is requested as `ui_locales` on the authorization request and as the browser's Accept-Language. */
const languages = ['en', 'de'];

const chromiumMissing = warnIfChromiumMissing('pages.browser.test.ts');

const desktop = { width: 1280, height: 800 };
const modes = [
  { name: 'light', colorScheme: 'light', viewport: desktop },
  { name: 'dark', colorScheme: 'dark', viewport: desktop },
  { name: 'phone', colorScheme: 'light', viewport: { width: 390, height: 844 } },
] as const;

const NEW_PASSWORD = 'lantern meadow copper 58';
/** No account has it: a failed login that touches nobody's lockout count. */
const NOBODY = 'nobody@example.com';
/** Ends the walk on the oidc-provider error page: a redirect_uri the client did not register. */
const BAD_REDIRECT = 'http://127.0.0.1:9/not-registered';

// Walks more than one page shares.

async function register(tour: PageTour): Promise<string> {
  const email = tour.uniqueEmail('newcomer');
  await tour.startSignIn();
  await tour.press('a[href$="/register"]');
  await tour.submit('/register', { email, name: 'New Comer', password: PASSWORD });
  return email;
}

async function openVerifyLink(tour: PageTour): Promise<void> {
  await tour.openMailedLink(await register(tour), '/account/verify-email');
}

async function openForgotPassword(tour: PageTour): Promise<void> {
  await tour.startSignIn();
  await tour.press('a[href$="/forgot"]');
}

/** Asks for a reset link for a new account of its own, so no other walk's password changes. */
async function requestReset(tour: PageTour): Promise<string> {
  const email = tour.uniqueEmail('forgetful');
  await tour.world.app.deps.accounts.create({ email, password: PASSWORD, emailVerified: true });
  await openForgotPassword(tour);
  await tour.submit('/forgot', { email });
  return email;
}

async function openResetLink(tour: PageTour): Promise<void> {
  await tour.openMailedLink(await requestReset(tour), '/account/reset-password');
}

async function verifyRequired(tour: PageTour): Promise<void> {
  const email = tour.uniqueEmail('unverified');
  await tour.world.app.deps.accounts.create({ email, password: PASSWORD, emailVerified: false });
  await tour.startSignIn();
  await tour.signIn(email, PASSWORD);
}

/** The code step after a right password, for an account with a confirmed authenticator app. */
async function openSecondFactor(tour: PageTour, options: { extra?: Record<string, string> } = {}): Promise<{ recovery: string[]; accountId: string }> {
  const email = tour.uniqueEmail('two-step');
  const { deps } = tour.world.app;
  const account = await deps.accounts.create({ email, password: PASSWORD, emailVerified: true });
  const enrolment = await deps.mfa.enrolTotp(account.id, email);
  const code = new TOTP({ secret: enrolment.secret, digits: 6, period: 30, algorithm: 'SHA1' }).generate();
  expect(await deps.mfa.confirmTotp(account.id, enrolment.factorId, code)).toBe('ok');
  const recovery = await deps.mfa.newRecoveryCodes(account.id);
  await tour.startSignIn(options);
  await tour.signIn(email, PASSWORD);
  return { recovery, accountId: account.id };
}

/** A sign-in whose application asks for a second factor, by an account that has none yet. */
async function openEnrolment(tour: PageTour): Promise<void> {
  const email = tour.uniqueEmail('enrol');
  await tour.world.app.deps.accounts.create({ email, password: PASSWORD, emailVerified: true });
  await tour.startSignIn({ extra: { acr_values: 'mfa' } });
  await tour.signIn(email, PASSWORD);
}

/** The authenticator-app step of that enrolment; returns the secret the page shows. */
async function openTotpEnrolment(tour: PageTour): Promise<string> {
  await openEnrolment(tour);
  await tour.press('form[action$="/enrol/totp"] button[type=submit]');
  return (await tour.page.locator('#totp-secret').innerText()).replace(/\s/g, '');
}

/** The account console's security page, signed in there through the provider. */
async function openSecurity(tour: PageTour, options: { factor?: boolean } = {}): Promise<void> {
  const email = tour.uniqueEmail('console');
  const { deps } = tour.world.app;
  const account = await deps.accounts.create({ email, password: PASSWORD, emailVerified: true });
  let secret: string | null = null;
  if (options.factor) {
    const enrolment = await deps.mfa.enrolTotp(account.id, email);
    secret = enrolment.secret;
    expect(await deps.mfa.confirmTotp(account.id, enrolment.factorId, new TOTP({ secret, digits: 6, period: 30, algorithm: 'SHA1' }).generate())).toBe('ok');
    await deps.mfa.newRecoveryCodes(account.id);
  }
  await tour.open(`/account/security?lang=${tour.language}`);
  await tour.signIn(email, PASSWORD);
  if (secret) {
    // The code step of this sign-in: a later step of the 30 s window, since the first was used.
    const next = new TOTP({ secret, digits: 6, period: 30, algorithm: 'SHA1' }).generate({ timestamp: Date.now() + 30_000 });
    await tour.submit('/second-factor', { code: next });
  }
}

/**
 * "Continue with Google" with an email that has a local account Google does not vouch for: the
 * page that asks for the local password (or explains there is none) before linking.
 */
async function openLinkAccount(tour: PageTour, options: { hasPassword: boolean }): Promise<void> {
  const email = tour.uniqueEmail('linker');
  await tour.world.app.deps.accounts.create({ email, emailVerified: true, ...(options.hasPassword ? { password: PASSWORD } : {}) });
  tour.world.upstream.person = { sub: `google-${email}`, email, email_verified: false };
  await tour.startSignIn();
  await tour.press('form[action$="/federation/google"] button[type=submit]');
}

/** RP-initiated logout of a signed-in person (OpenID Connect RP-Initiated Logout 1.0 §2). */
async function openLogoutConfirm(tour: PageTour): Promise<void> {
  await tour.signInToRelyingParty(tour.world.rp.email, PASSWORD);
  await tour.open(`/session/end?${new URLSearchParams({ client_id: 'web-app', ui_locales: tour.language })}`);
}

interface HostedPage {
  name: string;
  reach: (tour: PageTour) => Promise<unknown>;
  /** The HTTP status it is served with. */
  status: number;
  /** Elements that prove the walk ended on this page (stable attributes only, never text). */
  shows: string[];
  /** Its path, where `shows` alone would not tell it from another page. */
  path?: RegExp;
}

/** A page with a heading and no form: the notices, the error and signed-out pages. */
const NOTICE = ['main h1', 'main:not(:has(form))'];

const pages: HostedPage[] = [
  { name: 'home', reach: (t) => t.open('/'), status: 200, shows: ['main h1'], path: /^\/$/ },
  { name: 'not found', reach: (t) => t.open('/no-such-page'), status: 404, shows: ['main h1'] },
  { name: 'login', reach: (t) => t.startSignIn(), status: 200, shows: ['form[action$="/login"] input[name=password]', 'form[action$="/federation/google"]'] },
  { name: 'login, failed', reach: async (t) => { await t.startSignIn(); await t.signIn(NOBODY, 'not the password'); }, status: 400, shows: ['main [role=alert]', 'form[action$="/login"]'] },
  { name: 'registration', reach: async (t) => { await t.startSignIn(); await t.press('a[href$="/register"]'); }, status: 200, shows: ['form[action$="/register"] input[name=password]'] },
  { name: 'registration, invalid', reach: async (t) => { await t.startSignIn(); await t.press('a[href$="/register"]'); await t.submit('/register', { email: 'not-an-email', password: PASSWORD }); }, status: 400, shows: ['main [role=alert]', 'form[action$="/register"] [aria-invalid=true]'] },
  { name: 'check email, after registering', reach: register, status: 200, shows: ['form[action$="/resend"] input[type=hidden][name=email]'], path: /\/register$/ },
  { name: 'forgot password', reach: openForgotPassword, status: 200, shows: ['form[action$="/forgot"] input[type=email][name=email]'] },
  { name: 'forgot password, invalid', reach: async (t) => { await openForgotPassword(t); await t.submit('/forgot', { email: 'not-an-email' }); }, status: 400, shows: ['main [role=alert]', 'form[action$="/forgot"] input[type=email]'] },
  { name: 'check email, after a reset request', reach: requestReset, status: 200, shows: ['form[action$="/forgot"] input[type=hidden][name=email]'] },
  { name: 'verify required', reach: verifyRequired, status: 403, shows: ['form[action$="/resend"] input[type=hidden][name=email]'], path: /\/login$/ },
  { name: 'check email, after a resend', reach: async (t) => { await verifyRequired(t); await t.submit('/resend'); }, status: 200, shows: ['form[action$="/resend"] input[type=hidden][name=email]'], path: /\/resend$/ },
  { name: 'second factor', reach: openSecondFactor, status: 200, shows: ['form[action$="/second-factor"] input[name=code][autocomplete=one-time-code]', 'a[href$="/second-factor?method=recovery"]'], path: /\/second-factor$/ },
  { name: 'second factor, wrong recovery code', reach: async (t) => { await openSecondFactor(t); await t.press('a[href$="/second-factor?method=recovery"]'); await t.submit('/second-factor', { code: 'aaaaa-bbbbb' }); }, status: 400, shows: ['main [role=alert]', 'form[action$="/second-factor"] [aria-invalid=true]'] },
  { name: 'passkey required', reach: (t) => openSecondFactor(t, { extra: { acr_values: 'phishing-resistant' } }), status: 200, shows: ['a[href="/account/security"]', 'form[action$="/abort"]'] },
  { name: 'recovery code used', reach: async (t) => { const { recovery } = await openSecondFactor(t); await t.press('a[href$="/second-factor?method=recovery"]'); await t.submit('/second-factor', { code: recovery[0]! }); }, status: 200, shows: ['main a.button', 'a[href="/account/security"]'] },
  { name: 'enrolment during sign-in', reach: openEnrolment, status: 200, shows: ['form[action$="/enrol/totp"] button[type=submit]', 'form[data-passkey="register"]'], path: /\/enrol$/ },
  { name: 'enrolment, authenticator app', reach: openTotpEnrolment, status: 200, shows: ['img.qr', '#totp-secret', 'form[action$="/enrol/totp/confirm"] input[name=code]'] },
  { name: 'enrolment, wrong first code', reach: async (t) => { await openTotpEnrolment(t); await t.submit('/enrol/totp/confirm', { code: '000000' }); }, status: 400, shows: ['main [role=alert]', 'form[action$="/enrol/totp/confirm"] [aria-invalid=true]'] },
  { name: 'enrolment, recovery codes', reach: async (t) => { const secret = await openTotpEnrolment(t); await t.submit('/enrol/totp/confirm', { code: new TOTP({ secret, digits: 6, period: 30, algorithm: 'SHA1' }).generate() }); }, status: 200, shows: ['.recovery-codes li code', 'form[action$="/enrol/done"] button[type=submit]'], path: /\/enrol$/ },
  { name: 'account security', reach: (t) => openSecurity(t), status: 200, shows: ['a[href="/account/security/totp"]', 'a[href="/account/security/passkeys/new"]'], path: /^\/account\/security$/ },
  { name: 'account security, with a factor', reach: (t) => openSecurity(t, { factor: true }), status: 200, shows: ['a[href$="/remove"]'], path: /^\/account\/security$/ },
  { name: 'account, add an authenticator app', reach: async (t) => { await openSecurity(t); await t.press('a[href="/account/security/totp"]'); }, status: 200, shows: ['img.qr', '#totp-secret', 'form[action="/account/security/totp"] input[name=code]'] },
  { name: 'account, add a passkey', reach: async (t) => { await openSecurity(t); await t.press('a[href="/account/security/passkeys/new"]'); }, status: 200, shows: ['form[data-passkey="register"] input[name=name]'] },
  { name: 'account, remove a factor', reach: async (t) => { await openSecurity(t, { factor: true }); await t.press('a[href$="/remove"]'); }, status: 200, shows: ['form[action$="/remove"] button[type=submit]'] },
  { name: 'consent', reach: async (t) => { await t.startSignIn({ consent: true }); await t.signIn(t.world.rp.email, PASSWORD); }, status: 200, shows: ['form[action$="/confirm"] button[type=submit].primary', 'form[action$="/abort"]'] },
  { name: 'link account', reach: (t) => openLinkAccount(t, { hasPassword: true }), status: 200, shows: ['form[action$="/link"] input[name=password]', 'form[action$="/link/cancel"]'] },
  { name: 'link account, wrong password', reach: async (t) => { await openLinkAccount(t, { hasPassword: true }); await t.submit('/link', { password: 'not the password' }); }, status: 400, shows: ['main [role=alert]', 'form[action$="/link"] input[name=password]'] },
  { name: 'link account, no password', reach: (t) => openLinkAccount(t, { hasPassword: false }), status: 200, shows: ['form[action$="/link/cancel"]', 'main:not(:has(input[name=password]))'] },
  { name: 'error from oidc-provider', reach: (t) => t.open(`/auth?${new URLSearchParams({ client_id: 'web-app', redirect_uri: BAD_REDIRECT, response_type: 'code', scope: 'openid', ui_locales: t.language })}`), status: 400, shows: NOTICE, path: /^\/auth$/ },
  { name: 'error from our routes (expired sign-in)', reach: (t) => t.open('/interaction/no-such-interaction'), status: 400, shows: NOTICE },
  { name: 'sign out?', reach: openLogoutConfirm, status: 200, shows: ['form[id="op.logoutForm"]', 'button[name=logout][value=yes]'] },
  { name: 'signed out', reach: async (t) => { await openLogoutConfirm(t); await t.press('button[name=logout][value=yes]'); }, status: 200, shows: NOTICE, path: /^\/session\/end\/success$/ },
  { name: 'returning to the application (form_post, no script)', reach: async (t) => { await t.holdAutoSubmit(); await t.startSignIn({ extra: { response_mode: 'form_post' } }); await t.signIn(t.world.rp.email, PASSWORD); await t.allowIfAsked(); }, status: 200, shows: ['form[data-auto-submit] input[type=hidden][name=code]', 'form[data-auto-submit] button[type=submit].primary'] },
  { name: 'signing out with no session (form_post, no script)', reach: async (t) => { await t.holdAutoSubmit(); await t.open(`/session/end?${new URLSearchParams({ client_id: 'web-app', ui_locales: t.language })}`); }, status: 200, shows: ['form[data-auto-submit][action$="/session/end/confirm"] button[type=submit]'] },
  { name: 'device, enter the code', reach: (t) => t.open('/device'), status: 200, shows: ['form[action$="/device"] input[name=user_code][autocomplete=one-time-code]'], path: /^\/device$/ },
  { name: 'device, code prefilled (verification_uri_complete)', reach: async (t) => t.open((await t.startDevice()).verificationUriComplete), status: 200, shows: ['form[action$="/device"] input[name=user_code]:not([value=""])'], path: /^\/device$/ },
  { name: 'device, wrong code', reach: async (t) => { await t.open('/device'); await t.submit('/device', { user_code: 'BCDF-GHJK' }); }, status: 400, shows: ['main [role=alert]', 'form[action$="/device"] [aria-invalid=true]'], path: /^\/device$/ },
  { name: 'device, confirm', reach: (t) => t.openDeviceConfirm(), status: 200, shows: ['#device-user-code', 'button[name=confirm][value=yes]', 'button[name=abort][value=yes]'] },
  { name: 'device, connected', reach: async (t) => { await t.openDeviceConfirm(); await t.press('button[name=confirm]'); await t.signIn(t.world.rp.email, PASSWORD); await t.allowIfAsked(); }, status: 200, shows: NOTICE, path: /^\/device\/[\w-]+$/ },
  { name: 'device, denied', reach: async (t) => { await t.openDeviceConfirm(); await t.press('button[name=abort]'); }, status: 200, shows: NOTICE, path: /^\/device$/ },
  { name: 'verify email (mailed link)', reach: openVerifyLink, status: 200, shows: ['form[action="/account/verify-email"] input[type=hidden][name=token]'] },
  { name: 'notice, email verified', reach: async (t) => { await openVerifyLink(t); await t.submit('/account/verify-email'); }, status: 200, shows: NOTICE },
  { name: 'notice, expired verification link', reach: (t) => t.open('/account/verify-email?token=expired'), status: 400, shows: NOTICE },
  { name: 'reset password (mailed link)', reach: openResetLink, status: 200, shows: ['form[action="/account/reset-password"] input[name=password]'] },
  { name: 'reset password, invalid', reach: async (t) => { await openResetLink(t); await t.submit('/account/reset-password', { password: 'short' }); }, status: 400, shows: ['main [role=alert]', 'form[action="/account/reset-password"]'] },
  { name: 'notice, password changed', reach: async (t) => { await openResetLink(t); await t.submit('/account/reset-password', { password: NEW_PASSWORD }); }, status: 200, shows: NOTICE },
  { name: 'notice, expired reset link', reach: (t) => t.open('/account/reset-password?token=expired'), status: 400, shows: NOTICE },
];

describe.skipIf(chromiumMissing)('every hosted page is accessible (axe-core in Chromium)', () => {
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let google: FakeOidcUpstream;
  let app: TestApp;
  let world: TourWorld;
  let browser: Browser;

  beforeAll(async () => {
    [smtp, google, browser] = await Promise.all([startSmtpServer(), startFakeOidcUpstream({ hostname: 'localhost' }), launchChromium()]);
    app = await startTestApp({
      ...google.env('google'),
      SMTP_URL: smtp.url,
      REQUIRE_VERIFIED_EMAIL: 'true',
      // Every walk comes from 127.0.0.1; the per-email limits still apply (each walk has its own address).
      LIMIT_REGISTRATIONS_PER_IP: '1000/1h',
      LIMIT_RESET_REQUESTS_PER_IP: '1000/1h',
      LIMIT_VERIFICATION_RESENDS_PER_IP: '1000/1h',
    });
    const rp = await seedWebClient(app);
    // The device flow's walks: a TV that signs in with a code (RFC 8628).
    await app.deps.clients.create({ id: 'tv-app', name: 'Living Room TV', public: true, grantTypes: ['urn:ietf:params:oauth:grant-type:device_code'], scope: 'openid profile email' });
    world = { app, rp, upstream: google, waitForMail: (predicate) => smtp.waitFor(predicate, 10_000) };
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await google?.close();
    await smtp?.close();
  });

  describe.each(languages)('in %s', (language) => {
    // One context and one page for every walk in a language: Chromium keeps its renderer, and V8
    // its compiled axe, from one walk to the next (a context per walk, or walks side by side,
    // made the run slower on a two-core machine). Walks share no state: cookies (the session,
    // the interaction) and routes are cleared before each. axe goes into every document as an
    // init script, which no CSP applies to.
    let context: BrowserContext;
    let page: Page;
    beforeAll(async () => {
      context = await browser.newContext({ locale: language, viewport: desktop });
      context.setDefaultTimeout(15_000);
      await context.addInitScript({ content: axeSource });
      page = await context.newPage();
    });
    afterAll(async () => {
      await context?.close();
    });

    it.for(pages)('$name', async (hosted, { expect }) => {
      await context.clearCookies();
      await page.unrouteAll({ behavior: 'ignoreErrors' });
      await page.emulateMedia({ colorScheme: 'light' });
      await page.setViewportSize(desktop);
      const tour = new PageTour(page, world, language);
      await hosted.reach(tour);
      const where = `${hosted.name} (${language}) at ${page.url()}`;
      expect(tour.status, where).toBe(hosted.status);
      if (hosted.path) expect(tour.path, where).toMatch(hosted.path);
      for (const selector of hosted.shows) expect(await page.locator(selector).count(), `${where}: nothing matches ${selector}`).toBeGreaterThan(0);

      const problems: string[] = [];
      for (const mode of modes) {
        await page.emulateMedia({ colorScheme: mode.colorScheme });
        await page.setViewportSize(mode.viewport);
        const label = `${hosted.name} [${language}, ${mode.name}]`;
        for (const finding of await axeFindings(page)) {
          problems.push(`${label} ${finding.rule}: ${finding.help}\n    ${finding.nodes.join('\n    ')}`);
        }
        if (mode.name === 'phone') {
          problems.push(...(await overflowProblems(page)).map((problem) => `${label} reflow: ${problem}`));
        } else {
          problems.push(...(await controlEdgeProblems(page)).map((problem) => `${label} non-text contrast: ${problem}`));
          problems.push(...(await focusProblems(page)).map((problem) => `${label} focus: ${problem}`));
        }
      }
      expect(problems, problems.join('\n')).toEqual([]);
      expect.soft(await page.evaluate('document.documentElement.lang'), `${where}: <html lang>`).toBe(language);
    });
  });

  it('signs in with a password with JavaScript off', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false, locale: languages[0] });
    context.setDefaultTimeout(15_000);
    try {
      const tour = new PageTour(await context.newPage(), world, languages[0]!);
      const callback = await tour.signInToRelyingParty(world.rp.email, PASSWORD);
      expect(callback.origin + callback.pathname).toBe(REDIRECT_URI);
      expect(callback.searchParams.get('code')).toBeTruthy();
      expect(callback.searchParams.get('error')).toBeNull();
    } finally {
      await context.close();
    }
  });
});
