import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, CDPSession, Page, Request } from 'playwright-core';
import * as client from 'openid-client';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { authorizationRequest, PASSWORD, REDIRECT_URI, seedWebClient } from '../helpers/oidc.ts';
import { launchChromium, warnIfChromiumMissing } from '../helpers/chromium.ts';
import { axeFindings, axeSource } from '../helpers/axe.ts';

/*
 * Passkeys end to end in a real browser (Debian's Chromium) with a virtual authenticator (the
 * DevTools protocol's WebAuthn domain), through the real pages and views/passkey.js: add a passkey
 * on /account/security, step a password session up when the application asks for the
 * phishing-resistant level, sign in with the passkey alone, and with password + passkey. The
 * issuer is http://localhost:<port>: browsers refuse an IP address as relying-party id.
 */

const chromiumMissing = warnIfChromiumMissing('passkeys.browser.test.ts');
const EMAIL = 'passkey.person@example.com';

type Rp = Awaited<ReturnType<typeof seedWebClient>>;

describe.skipIf(chromiumMissing)('passkeys in a real browser (Chromium, virtual authenticator)', () => {
  let app: TestApp;
  let rp: Rp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let cdp: CDPSession;
  const problems: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    app = await startTestApp({}, { hostname: 'localhost' });
    rp = await seedWebClient(app, { email: 'someone.else@example.com' });
    await app.deps.accounts.create({ email: EMAIL, password: PASSWORD, name: 'Pat Key', emailVerified: true });
    context = await browser.newContext({ locale: 'en', viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(15_000);
    await context.addInitScript({ content: axeSource });
    page = await context.newPage();
    cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    // A platform authenticator with resident keys and user verification (a phone's or laptop's).
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
  });
  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await app?.close();
  });

  async function axe(label: string): Promise<void> {
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme });
      for (const finding of await axeFindings(page)) problems.push(`${label} [${colorScheme}] ${finding.rule}: ${finding.help}\n    ${finding.nodes.join('\n    ')}`);
    }
    await page.emulateMedia({ colorScheme: 'light' });
  }

  /** Where the provider sends the browser back to the application, once that page has loaded. */
  async function backAtApplication(action: () => Promise<void>): Promise<URL> {
    const toRelyingParty = page.waitForRequest((sent: Request) => sent.url().startsWith(`${REDIRECT_URI}?`));
    // Chromium refuses port 9 and shows its error page: waited for, so it cannot arrive late and
    // interrupt the next test's navigation.
    const errorPage = page.waitForEvent('framenavigated', (frame) => frame === page.mainFrame() && frame.url().startsWith('chrome-error:'));
    for (const wait of [toRelyingParty, errorPage]) wait.catch(() => {});
    await action();
    const consent = page.locator('form[action$="/confirm"] button[type=submit]');
    const next = await Promise.race([toRelyingParty.then(() => 'back' as const), consent.waitFor().then(() => 'consent' as const)]);
    if (next === 'consent') await consent.click();
    const url = new URL((await toRelyingParty).url());
    await errorPage;
    return url;
  }

  async function claimsOf(request: Awaited<ReturnType<typeof authorizationRequest>>, callback: URL) {
    expect(callback.searchParams.get('error'), callback.href).toBeNull();
    const tokens = await client.authorizationCodeGrant(rp.config, callback, { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
    return tokens.claims()!;
  }

  async function credentials(): Promise<number> {
    const account = await app.deps.accounts.findByEmail(EMAIL);
    return (await app.deps.mfa.listFactors(account!.id)).filter((factor) => factor.kind === 'webauthn').length;
  }

  it('adds a passkey on /account/security after signing in there with the password', async () => {
    await page.goto(`${app.issuer}/account/security`);
    // Not signed in: the console signs in through the provider, like any application.
    await page.locator('form[action$="/login"] [name=email]').fill(EMAIL);
    await page.locator('form[action$="/login"] [name=password]').fill(PASSWORD);
    await page.locator('form[action$="/login"] button[type=submit]').click();
    await page.waitForURL(`${app.issuer}/account/security`);
    await axe('account security, no factors');
    await page.locator('a[href="/account/security/passkeys/new"]').click();
    await page.waitForURL(`${app.issuer}/account/security/passkeys/new`);
    await page.locator('form[data-passkey="register"] [name=name]').fill('Laptop');
    await axe('add a passkey');
    await page.locator('form[data-passkey="register"] button[type=submit]').click();
    await page.waitForURL((url) => url.pathname !== '/account/security/passkeys/new');
    expect(await credentials()).toBe(1);
    await page.goto(`${app.issuer}/account/security`);
    expect(await page.content()).toContain('Laptop');
  });

  it('steps the password session up to phishing-resistant with the passkey, without the password', async () => {
    const request = await authorizationRequest(rp.config, { acr_values: 'phishing-resistant' }, { offline: false });
    await page.goto(request.url.href);
    expect(new URL(page.url()).pathname).toMatch(/\/second-factor$/);
    expect(await page.locator('input[type=password]').count()).toBe(0);
    await axe('second factor, passkey');
    const callback = await backAtApplication(() => page.locator('form[data-passkey="authenticate"] button[type=submit]').click());
    const claims = await claimsOf(request, callback);
    expect(claims.acr).toBe('phishing-resistant');
    expect(claims.amr).toEqual(['pwd', 'hwk', 'user', 'mfa']);
  });

  it('signs in with the passkey alone through autofill in the email field (conditional mediation)', async () => {
    await context.clearCookies();
    const request = await authorizationRequest(rp.config, {}, { offline: false });
    // The login page starts a conditional request; the virtual authenticator answers it as a
    // person picking the passkey from the email field's suggestions would: no click, no password.
    const callback = await backAtApplication(async () => {
      await page.goto(request.url.href);
    });
    const claims = await claimsOf(request, callback);
    expect(claims.email).toBe(EMAIL);
    expect(claims.amr).toEqual(['hwk', 'user', 'mfa']);
    expect(claims.acr).toBe('phishing-resistant');
  });

  it('signs in with the passkey alone from the "Sign in with a passkey" button', async () => {
    // From here on the browser offers no autofill, so the page's button is what starts it.
    await page.addInitScript({ content: 'PublicKeyCredential.isConditionalMediationAvailable = async () => false;' });
    await context.clearCookies();
    const request = await authorizationRequest(rp.config, {}, { offline: false });
    await page.goto(request.url.href);
    await page.locator('form[data-passkey="authenticate"] button[type=submit]').waitFor();
    await axe('login with passkey button');
    const callback = await backAtApplication(() => page.locator('form[data-passkey="authenticate"] button[type=submit]').click());
    const claims = await claimsOf(request, callback);
    expect(claims.email).toBe(EMAIL);
    expect(claims.amr).toEqual(['hwk', 'user', 'mfa']);
  });

  it('signs in with the password and then the passkey', async () => {
    await context.clearCookies();
    const request = await authorizationRequest(rp.config, { prompt: 'login' }, { offline: false });
    await page.goto(request.url.href);
    await page.locator('form[action$="/login"] [name=email]').fill(EMAIL);
    await page.locator('form[action$="/login"] [name=password]').fill(PASSWORD);
    await page.locator('form[action$="/login"] button[type=submit]').click();
    await page.waitForURL(/\/second-factor$/);
    const callback = await backAtApplication(() => page.locator('form[data-passkey="authenticate"] button[type=submit]').click());
    const claims = await claimsOf(request, callback);
    expect(claims.amr).toEqual(['pwd', 'hwk', 'user', 'mfa']);
    expect(problems).toEqual([]);
  });
});
