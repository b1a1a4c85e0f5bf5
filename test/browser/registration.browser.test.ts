import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Locator, Page, Request } from 'playwright-core';
import * as client from 'openid-client';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { authorizationRequest, REDIRECT_URI, seedWebClient } from '../helpers/oidc.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { launchChromium, warnIfChromiumMissing } from '../helpers/chromium.ts';
import { axeFindings, axeSource } from '../helpers/axe.ts';
import { PageTour, type TourWorld } from '../helpers/page-tour.ts';

/*
 * Registration continues the sign-in it started, in a real browser (Debian's Chromium): the
 * relying party's sign-in, "create an account", the mailed link opened in another tab of the same
 * browser, its confirm button, and the notice's button back into the sign-in, which ends at the
 * relying party with a code for the new account. The password is typed once, on the registration
 * form, and never again. All in German (ui_locales=de), found by stable attributes, never text.
 * test/self-service/pages.test.ts proves the same over fetch; this proves the browser's own
 * cookie, tab and navigation rules keep it working.
 */

const chromiumMissing = warnIfChromiumMissing('registration.browser.test.ts');

const LANGUAGE = 'de';
const NEW_EMAIL = 'neu.registriert@example.com';
const NEW_PASSWORD = 'a long enough passphrase 42';

/**
 * Every field this test types into goes through here, so it can say how often a password was
 * typed: a field counts as one when the page renders it as type=password.
 */
class Typist {
  passwordFills = 0;

  async fill(field: Locator, value: string): Promise<void> {
    if ((await field.getAttribute('type')) === 'password') this.passwordFills += 1;
    await field.fill(value);
  }
}

/** axe's violations in light and in dark mode, one line each (empty when there are none). */
async function axeProblems(page: Page, label: string): Promise<string[]> {
  const problems: string[] = [];
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    for (const finding of await axeFindings(page)) {
      problems.push(`${label} [${colorScheme}] ${finding.rule}: ${finding.help}\n    ${finding.nodes.join('\n    ')}`);
    }
  }
  await page.emulateMedia({ colorScheme: 'light' });
  return problems;
}

const htmlLang = (page: Page) => page.evaluate('document.documentElement.lang') as Promise<string>;

describe.skipIf(chromiumMissing)('registration continues the sign-in, in a real browser (Chromium)', () => {
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;
  let world: TourWorld;
  let browser: Browser;
  let context: BrowserContext;

  beforeAll(async () => {
    [smtp, browser] = await Promise.all([startSmtpServer(), launchChromium()]);
    app = await startTestApp({ SMTP_URL: smtp.url, REQUIRE_VERIFIED_EMAIL: 'true' });
    rp = await seedWebClient(app);
    // No walk here uses the fake Google: the login page's "Continue with Google" is not configured.
    world = { app, rp, upstream: undefined as unknown as TourWorld['upstream'], waitForMail: (predicate) => smtp.waitFor(predicate, 10_000) };
    context = await browser.newContext({ locale: LANGUAGE, viewport: { width: 1280, height: 800 } });
    // Fail on a stuck step well inside the test's own timeout, with Playwright's message.
    context.setDefaultTimeout(15_000);
    // axe in every document before the page's scripts, outside the page's CSP (test/helpers/axe.ts).
    await context.addInitScript({ content: axeSource });
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await app?.close();
    await smtp?.close();
  });

  it('registers, verifies in another tab and arrives at the relying party signed in, the password typed once', async () => {
    const typist = new Typist();
    const problems: string[] = [];

    // The relying party's authorization request, in German: the login page.
    const tab = new PageTour(await context.newPage(), world, LANGUAGE);
    const request = await authorizationRequest(rp.config, { ui_locales: LANGUAGE }, { offline: false });
    await tab.open(request.url.href);
    expect(tab.status).toBe(200);
    const loginAction = await tab.page.locator('form[action$="/login"]').getAttribute('action');
    const uid = /^\/interaction\/([^/]+)\/login$/.exec(loginAction ?? '')?.[1];
    expect(uid, `login form action ${loginAction}`).toBeTruthy();
    expect(await htmlLang(tab.page)).toBe(LANGUAGE);

    // "Create an account", and the registration form: the only password this test types.
    await tab.press('a[href$="/register"]');
    expect(tab.path).toBe(`/interaction/${uid}/register`);
    expect(await htmlLang(tab.page)).toBe(LANGUAGE);
    const form = tab.page.locator('form[action$="/register"]');
    await typist.fill(form.locator('[name=email]'), NEW_EMAIL);
    await typist.fill(form.locator('[name=password]'), NEW_PASSWORD);
    await tab.press('form[action$="/register"] button[type=submit]');

    // "Check your email", with the way back into this sign-in.
    expect(tab.status).toBe(200);
    expect(tab.path).toBe(`/interaction/${uid}/register`);
    expect(await tab.page.locator('form[action$="/resend"] input[type=hidden][name=email]').inputValue()).toBe(NEW_EMAIL);
    expect(await tab.page.locator('main a.button').getAttribute('href')).toBe(`/interaction/${uid}`);
    expect(await htmlLang(tab.page)).toBe(LANGUAGE);
    problems.push(...(await axeProblems(tab.page, 'check email')));

    // The mailed link, in German and naming this sign-in, opened in a new tab of the same browser.
    const prefix = `${app.issuer}/account/verify-email?`;
    const mail = await world.waitForMail((message) => message.to.includes(NEW_EMAIL) && message.links.some((link) => link.startsWith(prefix)));
    const link = new URL(mail.links.find((href) => href.startsWith(prefix))!);
    expect(link.searchParams.get('lang')).toBe(LANGUAGE);
    expect(link.searchParams.get('interaction')).toBe(uid);
    expect(link.searchParams.get('client_id')).toBe('web-app');
    const mailTab = new PageTour(await context.newPage(), world, LANGUAGE);
    await mailTab.open(link.href);
    expect(mailTab.status).toBe(200);
    expect(await htmlLang(mailTab.page)).toBe(LANGUAGE);
    expect(await mailTab.page.locator('form[action="/account/verify-email"] input[type=hidden][name=token]').count()).toBe(1);

    // Confirm: the notice, with the button back into the sign-in.
    await mailTab.press('form[action="/account/verify-email"] button.primary');
    expect(mailTab.status).toBe(200);
    expect(mailTab.path).toBe('/account/verify-email');
    expect(await mailTab.page.locator('main form').count()).toBe(0);
    const proceed = mailTab.page.locator('main a.button');
    expect(await proceed.getAttribute('href')).toBe(`/interaction/${uid}?client_id=web-app`);
    expect(await htmlLang(mailTab.page)).toBe(LANGUAGE);
    problems.push(...(await axeProblems(mailTab.page, 'notice, email verified')));
    expect((await app.deps.accounts.findByEmail(NEW_EMAIL))?.emailVerified).toBe(true);

    // "Continue": signed in as the new account without a password, consent if asked, and back
    // at the relying party. Chromium refuses to load its port (9), so the request is what there
    // is to see, and then Chromium's error page, which is waited for so nothing is cut off.
    const page = mailTab.page;
    const toRelyingParty = page.waitForRequest((sent: Request) => sent.url().startsWith(`${REDIRECT_URI}?`));
    const errorPage = page.waitForEvent('framenavigated', (frame) => frame === page.mainFrame() && frame.url().startsWith('chrome-error:'));
    for (const wait of [toRelyingParty, errorPage]) wait.catch(() => {});
    const consent = page.locator('form[action$="/confirm"] button[type=submit]');
    await proceed.click();
    const next = await Promise.race([toRelyingParty.then(() => 'back' as const), consent.waitFor().then(() => 'consent' as const)]);
    if (next === 'consent') {
      expect(await htmlLang(page)).toBe(LANGUAGE);
      await consent.click();
    }
    const [arrival] = await Promise.all([toRelyingParty, errorPage]);
    const callback = new URL(arrival.url());
    expect(callback.origin + callback.pathname).toBe(REDIRECT_URI);
    expect(callback.searchParams.get('error'), callback.href).toBeNull();
    expect(callback.searchParams.get('code')).toBeTruthy();
    expect(callback.searchParams.get('state')).toBe(request.state);

    // The code is the new account's: the relying party redeems it and reads who signed in.
    const tokens = await client.authorizationCodeGrant(rp.config, callback, {
      pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce,
    });
    const claims = tokens.claims()!;
    expect(claims.sub).toBe((await app.deps.accounts.findByEmail(NEW_EMAIL))!.id);
    expect(claims.email).toBe(NEW_EMAIL);

    expect(typist.passwordFills).toBe(1);
    expect(problems, problems.join('\n')).toEqual([]);
  });
});
