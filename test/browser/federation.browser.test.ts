import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page, Request, Response } from 'playwright-core';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { seedWebClient, authorizationRequest, REDIRECT_URI } from '../helpers/oidc.ts';
import { startFakeOidcUpstream, type FakeOidcUpstream } from '../helpers/fake-oidc-upstream.ts';
import { redeem } from '../helpers/federation.ts';
import { launchChromium, warnIfChromiumMissing } from '../helpers/chromium.ts';

/*
 * "Continue with Google" in a real browser: Debian's Chromium, driven by playwright-core. The fake
 * Google is on http://localhost (another *site* than the provider on http://127.0.0.1), so the
 * way back from Google is a cross-site navigation and the browser's own cookie rules (SameSite,
 * cookie Path) decide whether the interaction survives it. The fetch-based fake browser in
 * test/federation/google.test.ts cannot prove that.
 */

const chromiumMissing = warnIfChromiumMissing('federation.browser.test.ts');

/** Where something went wrong in the page, with the page it happened on. */
interface Problem {
  kind: 'console' | 'pageerror' | 'csp';
  text: string;
  url: string;
}

/**
 * The relying party's redirect URI is http://127.0.0.1:9/callback. Nothing listens there, and
 * Chromium refuses port 9 anyway (ERR_UNSAFE_PORT), so the last navigation ends on Chromium's
 * error page. Problems there are not ours.
 */
const isRelyingPartyPage = (url: string) => url.startsWith('http://127.0.0.1:9/') || url.startsWith('chrome-error:');

/**
 * Chromium asks every origin for /favicon.ico on its own; the provider serves none, so that
 * request logs a 404 "Failed to load resource". It is the browser's request, not our pages'.
 */
const isFaviconMiss = (problem: Problem) => problem.kind === 'console' && new URL(problem.url, 'http://x').pathname === '/favicon.ico';

describe.skipIf(chromiumMissing)('sign in with Google in a real browser (Chromium)', () => {
  let google: FakeOidcUpstream;
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;
  let browser: Browser;

  beforeAll(async () => {
    google = await startFakeOidcUpstream({ hostname: 'localhost' });
    app = await startTestApp(google.env('google'));
    rp = await seedWebClient(app);
    // Our fake Google redirects back at once, so the navigation to our callback is still the one
    // our login page started; by default Chromium then judges SameSite by that initiator and
    // would send even a Strict cookie. Real Google sends the person back from its own page
    // (cross-site). This flag makes Chromium judge by the whole redirect chain (RFC 6265bis), so
    // the test holds our cookies to the same rule: a Strict _interaction cookie would fail it.
    browser = await launchChromium(['--enable-features=CookieSameSiteConsidersRedirectChain']);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await google?.close();
  });

  it('creates an account through a cross-site round trip to Google, under our CSP', async () => {
    google.person = { sub: 'g-chromium-1', email: 'chromium.person@gmail.test', email_verified: true, name: 'Chromium Person' };
    expect(new URL(google.issuer).hostname).toBe('localhost');
    expect(new URL(app.issuer).hostname).toBe('127.0.0.1');

    const context: BrowserContext = await browser.newContext();
    // Fail on a stuck step well inside the test's own timeout, with Playwright's message.
    context.setDefaultTimeout(30_000);
    try {
      const page: Page = await context.newPage();
      const problems: Problem[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push({ kind: 'console', text: message.text(), url: message.location().url || page.url() });
      });
      page.on('pageerror', (error) => problems.push({ kind: 'pageerror', text: String(error), url: page.url() }));
      // Chromium also logs CSP violations to the console; this catches them even when it does not.
      // Init scripts run outside the page's CSP, and bindings are not fetches, so this adds none.
      await page.exposeBinding('__reportCspViolation', ({ frame }, text: string) => {
        problems.push({ kind: 'csp', text, url: frame.url() });
      });
      // (A string: this project's TypeScript has no DOM types.)
      await page.addInitScript(`document.addEventListener('securitypolicyviolation', (event) => {
        void globalThis.__reportCspViolation(event.effectiveDirective + ' blocked ' + (event.blockedURI || '(inline)') + ' (' + event.disposition + ')');
      });`);

      // Every HTML page the provider serves, to check its headers.
      const documents: Response[] = [];
      page.on('response', (response) => {
        if (response.request().resourceType() === 'document' && response.url().startsWith(app.issuer)) documents.push(response);
      });

      const request = await authorizationRequest(rp.config, {}, { offline: false });

      // 1. The relying party sends the browser to us; we redirect it to the login page.
      const login = await page.goto(request.url.href);
      expect(login, 'no response for the login page').not.toBeNull();
      expect(login!.status()).toBe(200);
      expect(page.url()).toMatch(new RegExp(`^${app.issuer}/interaction/[^/?]+$`));
      const uid = new URL(page.url()).pathname.split('/')[2]!;
      expect(login!.headers()['content-security-policy']).toContain("default-src 'none'");
      const continueWithGoogle = page.getByRole('button', { name: 'Continue with Google' });
      await expect.poll(() => continueWithGoogle.isVisible()).toBe(true);
      expect(await page.getByRole('button', { name: /GitHub/i }).count()).toBe(0);
      expect(await page.getByText(/GitHub/i).count()).toBe(0);

      // The interaction cookie and its signature, as the browser stored them: scoped to this
      // interaction, Lax.
      const stored = await context.cookies(`${app.issuer}/interaction/${uid}`);
      for (const name of ['_interaction', '_interaction.sig']) {
        expect(stored.find((cookie) => cookie.name === name), `the login page did not leave ${name}`).toMatchObject({ path: `/interaction/${uid}`, sameSite: 'Lax', httpOnly: true });
      }

      // 2. Continue with Google → Google (localhost) → our fixed callback → the interaction's
      //    callback, which must see the _interaction cookie after the cross-site hop.
      const interactionCallback = page.waitForRequest((r) => r.url().startsWith(`${app.issuer}/interaction/${uid}/federation/google/callback?`));
      await continueWithGoogle.click();
      const callbackRequest: Request = await interactionCallback;
      const chain: string[] = [];
      for (let hop: Request | null = callbackRequest; hop; hop = hop.redirectedFrom()) chain.unshift(hop.url());
      expect(chain.map((url) => new URL(url).origin + new URL(url).pathname)).toEqual([
        `${app.issuer}/interaction/${uid}/federation/google`,
        `${google.issuer}/authorize`,
        `${app.issuer}/federation/google/callback`,
        `${app.issuer}/interaction/${uid}/federation/google/callback`,
      ]);
      expect(callbackRequest.redirectedFrom()!.redirectedFrom()!.url()).toMatch(/^http:\/\/localhost:\d+\/authorize\?/);
      const sentCookies = (await callbackRequest.headerValue('cookie')) ?? '';
      expect(await callbackRequest.headerValue('sec-fetch-site'), 'the browser did not see the way back from Google as cross-site').toBe('cross-site');
      expect(sentCookies.split('; ').map((pair) => pair.split('=')[0]), 'the browser did not send the interaction cookies back after the round trip through Google').toEqual(expect.arrayContaining(['_interaction', '_interaction.sig']));

      // 3. The consent page: allow. The provider then redirects to the relying party.
      const allow = page.getByRole('button', { name: 'Allow' });
      await allow.waitFor({ state: 'visible' }).catch(async (error: unknown) => {
        const shown = await page.locator('main').innerText().catch(() => '(no page)');
        throw new Error(`expected the consent page, got ${page.url()}:\n${shown}`, { cause: error });
      });
      expect(new URL(page.url()).origin).toBe(app.issuer);
      expect(await page.locator('form:has(button:text-is("Allow"))').getAttribute('action')).toMatch(/\/confirm$/);
      const toRelyingParty = page.waitForRequest((r) => r.url().startsWith(`${REDIRECT_URI}?`));
      await allow.click();
      const rpRequest = await toRelyingParty;
      expect(rpRequest.redirectedFrom()?.url().startsWith(app.issuer), 'the relying party redirect did not come from the provider').toBe(true);

      // 4. The relying party redeems the code; the ID token names the account made from Google's person.
      const tokens = await redeem(rp.config, { url: rpRequest.url() }, request);
      const account = await app.deps.accounts.findByEmail('chromium.person@gmail.test');
      expect(account).toMatchObject({ emailVerified: true, name: 'Chromium Person' });
      expect(tokens.claims()!.sub).toBe(account!.id);

      // 5. The real browser ran our pages under our CSP, and nothing on them failed or was blocked.
      const pages = documents.filter((response) => response.status() === 200);
      expect(pages.map((response) => new URL(response.url()).pathname)).toEqual([`/interaction/${uid}`, expect.stringMatching(/^\/interaction\/[^/]+$/)]);
      for (const response of pages) expect(response.headers()['content-security-policy'], response.url()).toContain("default-src 'none'");
      expect(problems.filter((problem) => !isRelyingPartyPage(problem.url) && !isFaviconMiss(problem))).toEqual([]);
    } finally {
      await context.close();
    }
  }, 120_000);
});
