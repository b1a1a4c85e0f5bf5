import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import * as client from 'openid-client';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { authorizationRequest, PASSWORD, REDIRECT_URI, seedWebClient, signInThroughPages } from '../helpers/oidc.ts';
import { launchChromium, warnIfChromiumMissing } from '../helpers/chromium.ts';
import { axeFindings, axeSource } from '../helpers/axe.ts';
import { BrowserAs, CHROME_ANDROID, failSignIn } from '../account/devices.ts';

/*
 * The security page's recent activity, the devices page and the connected-apps page in a real
 * browser (Debian's Chromium), in English and German, through the real forms, with axe-core
 * finding nothing in light and dark mode on each page they reach: sign in, read the activity,
 * sign out another device, withdraw one permission of an application, then the application.
 */

const chromiumMissing = warnIfChromiumMissing('account-sessions.browser.test.ts');
const API = 'https://reports.api.test/';

const words = {
  en: { activity: 'Recent activity', failed: 'Sign-in failed: wrong password', devices: 'Where you are signed in', thisDevice: '(this device)', deviceOut: 'That device was signed out.', apps: 'Connected apps', withdrawn: 'The permission was withdrawn.', removed: 'The app was removed.', emailScope: 'See your email address' },
  de: { activity: 'Letzte Aktivitäten', failed: 'Anmeldung fehlgeschlagen: falsches Passwort', devices: 'Wo Sie angemeldet sind', thisDevice: '(dieses Gerät)', deviceOut: 'Das Gerät wurde abgemeldet.', apps: 'Verbundene Apps', withdrawn: 'Die Berechtigung wurde entzogen.', removed: 'Die App wurde entfernt.', emailScope: 'Ihre E-Mail-Adresse sehen' },
} as const;

describe.skipIf(chromiumMissing)('activity, devices and connected apps in a real browser', () => {
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;
  let browser: Browser;
  const problems: string[] = [];

  beforeAll(async () => {
    browser = await launchChromium();
    app = await startTestApp();
    rp = await seedWebClient(app, { email: 'ada@example.com' });
    await app.deps.resources.create({ indicator: API, name: 'Reports', scopes: ['read:reports'] });
    await app.deps.resources.grant('web-app', API, ['read:reports']);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  async function axe(page: Page, label: string): Promise<void> {
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme });
      for (const finding of await axeFindings(page)) problems.push(`${label} [${colorScheme}] ${finding.rule}: ${finding.help}\n    ${finding.nodes.join('\n    ')}`);
    }
    await page.emulateMedia({ colorScheme: 'light' });
  }

  /** On a phone (another device): a failed sign-in, then the web application signed in with consent. */
  async function phoneUsesTheApp(): Promise<void> {
    const phone = new BrowserAs(CHROME_ANDROID);
    await failSignIn(phone, app, rp.email);
    const request = await authorizationRequest(rp.config, { resource: API, scope: 'openid profile email offline_access read:reports' });
    const { callback } = await signInThroughPages(phone, request.url, { email: rp.email, password: PASSWORD });
    expect(callback.startsWith(REDIRECT_URI)).toBe(true);
    await client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
  }

  it.each(['en', 'de'] as const)('in %s: reads the activity, signs out the phone, withdraws a permission and then the app', async (language) => {
    const said = words[language];
    await phoneUsesTheApp();
    const context = await browser.newContext({ locale: language, viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(15_000);
    await context.addInitScript({ content: axeSource });
    const page = await context.newPage();
    try {
      await page.goto(`${app.issuer}/account/security`);
      await page.locator('form[action$="/login"] [name=email]').fill(rp.email);
      await page.locator('form[action$="/login"] [name=password]').fill(PASSWORD);
      await page.locator('form[action$="/login"] button[type=submit]').click();
      await page.waitForURL(`${app.issuer}/account/security`);
      expect(await page.locator('html').getAttribute('lang')).toBe(language);
      await expect(page.locator('#activity').textContent()).resolves.toBe(said.activity);
      const activity = page.locator('ul.activity');
      await expect(activity.textContent()).resolves.toContain(said.failed);
      await expect(activity.textContent()).resolves.toContain('Chrome 130');
      await axe(page, `${language} security with activity`);

      await page.locator('.account-nav a[href="/account/sessions"]').click();
      await page.waitForURL(`${app.issuer}/account/sessions`);
      await expect(page.locator('h1').textContent()).resolves.toBe(said.devices);
      await expect(page.locator('.this-device').textContent()).resolves.toBe(said.thisDevice);
      await axe(page, `${language} devices`);
      const phone = page.locator('ul.devices li', { hasText: 'Chrome 130' }).first();
      await phone.locator('button[type=submit]').click();
      await page.waitForURL(/\/account\/sessions\?done=ended$/);
      await expect(page.locator('p.notice').textContent()).resolves.toBe(said.deviceOut);
      await expect(page.locator('ul.devices li', { hasText: 'Chrome 130' }).count()).resolves.toBe(0);
      await axe(page, `${language} devices after a sign-out`);

      await page.locator('.account-nav a[href="/account/apps"]').click();
      await page.waitForURL(`${app.issuer}/account/apps`);
      await expect(page.locator('h1').textContent()).resolves.toBe(said.apps);
      await expect(page.locator('section.connected-app h2').textContent()).resolves.toBe('Web App');
      await axe(page, `${language} connected apps`);
      await page.locator('ul.permissions li', { hasText: said.emailScope }).locator('button[type=submit]').click();
      await page.waitForURL(/\/account\/apps\?done=scope_withdrawn$/);
      await expect(page.locator('p.notice').textContent()).resolves.toContain(said.withdrawn);
      await expect(page.locator('ul.permissions li', { hasText: said.emailScope }).count()).resolves.toBe(0);
      await axe(page, `${language} connected apps after withdrawing a permission`);
      await page.locator('form[action="/account/apps/web-app/remove"] button[type=submit]').click();
      await page.waitForURL(/\/account\/apps\?done=removed$/);
      await expect(page.locator('p.notice').textContent()).resolves.toContain(said.removed);
      await expect(page.locator('section.connected-app').count()).resolves.toBe(0);
      await axe(page, `${language} connected apps, none left`);
    } finally {
      await context.close();
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });
});
