import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { PASSWORD } from '../helpers/oidc.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { launchChromium, warnIfChromiumMissing } from '../helpers/chromium.ts';
import { axeFindings, axeSource, controlEdgeProblems, focusProblems, overflowProblems } from '../helpers/axe.ts';

/*
 * The profile, the email change and the password pages of the account console in a real browser
 * (Debian's Chromium), in English and in German: signing in to the console, a refused field and
 * its message, saving the profile, a new address confirmed through the mailed link (opened in a
 * new tab), a wrong current password, then a new password. axe-core checks every page in light
 * and dark mode, error states included. Elements are found by stable attributes, never by text.
 */

const chromiumMissing = warnIfChromiumMissing('account-profile.browser.test.ts');
const NEW_PASSWORD = 'a much longer passphrase 2026';

describe.skipIf(chromiumMissing)('profile, email and password pages in a real browser (Chromium)', () => {
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let app: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    [smtp, browser] = await Promise.all([startSmtpServer(), launchChromium()]);
    app = await startTestApp({ SMTP_URL: smtp.url });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await smtp?.close();
  });

  /**
   * axe's violations in light and in dark mode, one line each; with `controls`, also what axe does
   * not check: each field's edge at 3:1, a visible focus ring (the new URL field and language list),
   * and reflow at 320 px.
   */
  async function axeProblems(page: Page, label: string, options: { controls?: boolean } = {}): Promise<string[]> {
    const problems: string[] = [];
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme });
      for (const finding of await axeFindings(page)) problems.push(`${label} [${colorScheme}] ${finding.rule}: ${finding.help}\n    ${finding.nodes.join('\n    ')}`);
      if (!options.controls) continue;
      // A native checkbox's edge is drawn by Chromium itself (#767676 on white, 4.5:1; light grey in
      // the dark scheme), which computed styles do not show: the check below reads CSS only.
      const edges = (await controlEdgeProblems(page)).filter((problem) => !problem.includes('[type=checkbox]'));
      problems.push(...edges.map((problem) => `${label} [${colorScheme}] non-text contrast: ${problem}`));
      problems.push(...(await focusProblems(page)).map((problem) => `${label} [${colorScheme}] focus: ${problem}`));
    }
    await page.emulateMedia({ colorScheme: 'light' });
    if (options.controls) {
      // And at a phone's width: nothing scrolls sideways (WCAG 1.4.10).
      await page.setViewportSize({ width: 320, height: 640 });
      problems.push(...(await overflowProblems(page)).map((problem) => `${label} reflow: ${problem}`));
      await page.setViewportSize({ width: 1280, height: 800 });
    }
    return problems;
  }

  /** Submits the form and waits for the page it leads to (a 303 or a page of its own). */
  async function submit(page: Page, button: string): Promise<number> {
    const [response] = await Promise.all([page.waitForNavigation(), page.locator(button).click()]);
    return response?.status() ?? 0;
  }

  for (const language of ['en', 'de'] as const) {
    it(`changes the profile, the address and the password (${language}), with no axe violation in light or dark`, async () => {
      const email = `ada.${language}@example.com`;
      const newEmail = `ada.${language}.new@example.org`;
      await app.deps.accounts.create({ email, password: PASSWORD, name: 'Ada Lovelace', emailVerified: true });
      const context: BrowserContext = await browser.newContext({ locale: language, viewport: { width: 1280, height: 800 } });
      context.setDefaultTimeout(15_000);
      await context.addInitScript({ content: axeSource });
      const page = await context.newPage();
      const problems: string[] = [];
      const lang = () => page.evaluate('document.documentElement.lang') as Promise<string>;
      try {
        // /account: the console signs in through the provider, then shows the profile.
        await page.goto(`${app.issuer}/account`);
        await page.locator('form[action$="/login"] [name=email]').fill(email);
        await page.locator('form[action$="/login"] [name=password]').fill(PASSWORD);
        await page.locator('form[action$="/login"] button[type=submit]').click();
        await page.waitForURL(`${app.issuer}/account/profile`);
        expect(await lang()).toBe(language);
        expect(await page.locator('nav.account-nav a[aria-current="page"]').getAttribute('href')).toBe('/account/profile');
        problems.push(...(await axeProblems(page, `${language} profile`, { controls: true })));

        // A picture address that is not https: the form again, the field marked and described.
        await page.locator('#profile-picture').fill('http://example.com/ada.png');
        expect(await submit(page, 'form[action="/account/profile"] button[type=submit]')).toBe(400);
        expect(await page.locator('#profile-picture').getAttribute('aria-invalid')).toBe('true');
        expect(await page.locator('#profile-picture-problem').count()).toBe(1);
        expect(await page.evaluate('document.activeElement && document.activeElement.id')).toBe('profile-picture');
        expect(await lang()).toBe(language);
        problems.push(...(await axeProblems(page, `${language} profile, refused picture`)));

        await page.locator('#profile-picture').fill('https://example.com/ada.png');
        await page.locator('#profile-givenName').fill('Ada');
        expect(await submit(page, 'form[action="/account/profile"] button[type=submit]')).toBe(200);
        expect(new URL(page.url()).search).toBe('?done=saved');
        expect(await page.locator('main [role=status]').count()).toBe(1);
        problems.push(...(await axeProblems(page, `${language} profile, saved`)));
        expect(await app.deps.accounts.findByEmail(email)).toMatchObject({ givenName: 'Ada', picture: 'https://example.com/ada.png' });

        // The address: a malformed one is refused, then the link goes to the new one.
        await Promise.all([page.waitForURL(`${app.issuer}/account/email`), page.locator('a[href="/account/email"]').click()]);
        problems.push(...(await axeProblems(page, `${language} email`)));
        await page.locator('#new-email').fill('not an address');
        expect(await submit(page, 'form[action="/account/email"] button[type=submit]')).toBe(400);
        expect(await page.locator('#new-email').getAttribute('aria-invalid')).toBe('true');
        problems.push(...(await axeProblems(page, `${language} email, refused`)));
        await page.locator('#new-email').fill(newEmail);
        expect(await submit(page, 'form[action="/account/email"] button[type=submit]')).toBe(200);
        expect(await page.locator('main a.button[href="/account/profile"]').count()).toBe(1);
        problems.push(...(await axeProblems(page, `${language} email, link sent`)));

        // The mailed link, in this language, in a new tab of the same browser: a button, then the change.
        const mail = await smtp.waitFor((message) => message.to.includes(newEmail), 10_000);
        const link = mail.links.find((href) => href.startsWith(`${app.issuer}/account/email/confirm?`))!;
        expect(new URL(link).searchParams.get('lang')).toBe(language);
        // Written in the person's language.
        expect(mail.subject).toBe(language === 'de' ? 'Bestätigen Sie Ihre neue E-Mail-Adresse' : 'Confirm your new email address');
        const tab = await context.newPage();
        await tab.goto(link);
        expect(await tab.evaluate('document.documentElement.lang')).toBe(language);
        problems.push(...(await axeProblems(tab, `${language} email, confirm`)));
        const [confirmed] = await Promise.all([tab.waitForNavigation(), tab.locator('form[action="/account/email/confirm"] button[type=submit]').click()]);
        expect(confirmed?.status()).toBe(200);
        expect(new URL(tab.url()).search).toBe('?done=email_changed');
        expect((await app.deps.accounts.findByEmail(newEmail))?.emailVerified).toBe(true);
        await smtp.waitFor((message) => message.to.includes(email), 10_000);
        await tab.close();

        // The password: a wrong current one is refused, then the change.
        await page.goto(`${app.issuer}/account/password`);
        expect(await page.locator('#sign-out-others').isChecked()).toBe(true);
        problems.push(...(await axeProblems(page, `${language} password`, { controls: true })));
        await page.locator('#current-password').fill('not my password');
        await page.locator('#new-password').fill(NEW_PASSWORD);
        expect(await submit(page, 'form[action="/account/password"] button[type=submit]')).toBe(400);
        expect(await page.locator('#current-password').getAttribute('aria-invalid')).toBe('true');
        expect(await lang()).toBe(language);
        problems.push(...(await axeProblems(page, `${language} password, wrong current`)));
        await page.locator('#current-password').fill(PASSWORD);
        await page.locator('#new-password').fill(NEW_PASSWORD);
        expect(await submit(page, 'form[action="/account/password"] button[type=submit]')).toBe(200);
        expect(new URL(page.url()).search).toBe('?done=password_changed');
        expect(await app.deps.accounts.authenticate(newEmail, NEW_PASSWORD)).not.toBeNull();
        await smtp.waitFor((message) => message.to.includes(newEmail) && /password|Passwort/.test(message.subject), 10_000);
      } finally {
        await context.close();
      }
      expect(problems, problems.join('\n')).toEqual([]);
    }, 45_000);
  }
});
