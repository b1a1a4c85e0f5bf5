import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { PASSWORD } from '../helpers/oidc.ts';
import { startFakeOidcUpstream, type FakeOidcUpstream } from '../helpers/fake-oidc-upstream.ts';
import { launchChromium, warnIfChromiumMissing } from '../helpers/chromium.ts';
import { axeFindings, axeSource } from '../helpers/axe.ts';

/*
 * Linked accounts and your data in a real browser (Debian's Chromium), in English and German:
 * link a Google account (the fake Google on http://localhost, another site than the provider,
 * so the console's cookies must survive a cross-site round trip), unlink it, the refusals (a
 * Google account linked elsewhere, the last way to sign in), download the data, delete the
 * account after typing its email. axe-core checks each page in light and dark mode.
 */

const chromiumMissing = warnIfChromiumMissing('account-data.browser.test.ts');

interface Words {
  locale: string;
  linkedHeading: string;
  linkedNotice: string;
  refusedElsewhere: string;
  refusedLast: string;
  deleteMismatch: string;
  deleted: string;
}

const languages: Words[] = [
  {
    locale: 'en', linkedHeading: 'Linked accounts', linkedNotice: 'The account was linked.', refusedElsewhere: 'already linked to another account here',
    refusedLast: 'the only way left to sign in', deleteMismatch: 'This is not the email address of this account.', deleted: 'Your account has been deleted',
  },
  {
    locale: 'de', linkedHeading: 'Verknüpfte Konten', linkedNotice: 'Das Konto wurde verknüpft.', refusedElsewhere: 'bereits mit einem anderen Konto verknüpft',
    refusedLast: 'die einzige verbliebene Möglichkeit', deleteMismatch: 'Das ist nicht die E-Mail-Adresse dieses Kontos.', deleted: 'Ihr Konto wurde gelöscht',
  },
];

describe.skipIf(chromiumMissing)('linked accounts and your data in a real browser (Chromium)', () => {
  let google: FakeOidcUpstream;
  let app: TestApp;
  let browser: Browser;
  const problems: string[] = [];

  beforeAll(async () => {
    google = await startFakeOidcUpstream({ hostname: 'localhost' });
    app = await startTestApp(google.env('google'));
    // Judge SameSite by the whole redirect chain, as after a real upstream's own page (see federation.browser.test.ts).
    browser = await launchChromium(['--enable-features=CookieSameSiteConsidersRedirectChain']);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await google?.close();
  });

  async function axe(page: Page, label: string): Promise<void> {
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme });
      for (const finding of await axeFindings(page)) problems.push(`${label} [${colorScheme}] ${finding.rule}: ${finding.help}\n    ${finding.nodes.join('\n    ')}`);
    }
    await page.emulateMedia({ colorScheme: 'light' });
  }

  async function newPage(locale: string): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ locale, viewport: { width: 1280, height: 900 } });
    context.setDefaultTimeout(15_000);
    await context.addInitScript({ content: axeSource });
    return { context, page: await context.newPage() };
  }

  const main = (page: Page) => page.locator('main').innerText();

  it.each(languages)('links, unlinks and refuses on the linked-accounts pages ($locale)', async (words) => {
    const email = `ada.${words.locale}@example.com`;
    const ada = await app.deps.accounts.create({ email, password: PASSWORD, name: 'Ada', emailVerified: true });
    const grace = await app.deps.accounts.create({ email: `grace.${words.locale}@example.com`, password: PASSWORD, emailVerified: true });
    await app.deps.accountLinks.link(grace, 'google', { subject: `grace-${words.locale}`, email: null, emailVerified: false }, { via: 'test', ip: '127.0.0.1' });
    const { context, page } = await newPage(words.locale);
    try {
      await page.goto(`${app.issuer}/account/linked`);
      await page.locator('form[action$="/login"] [name=email]').fill(email);
      await page.locator('form[action$="/login"] [name=password]').fill(PASSWORD);
      await page.locator('form[action$="/login"] button[type=submit]').click();
      await page.waitForURL(`${app.issuer}/account/linked`);
      expect(await page.locator('h1').innerText()).toBe(words.linkedHeading);
      await axe(page, `${words.locale} linked, none`);

      // A Google account linked to Grace: refused, saying why.
      google.person = { sub: `grace-${words.locale}`, email: 'grace@gmail.test', email_verified: true };
      await page.locator('form[action="/account/linked/google/link"] button').click();
      await page.waitForURL(/\/account\/linked\/google\/callback/);
      expect(await main(page)).toContain(words.refusedElsewhere);
      await axe(page, `${words.locale} link refused`);

      google.person = { sub: `ada-${words.locale}`, email: 'ada@gmail.test', email_verified: false };
      await page.locator('form[action="/account/linked/google/link"] button').click();
      await page.waitForURL(`${app.issuer}/account/linked?done=linked`);
      expect(await main(page)).toContain(words.linkedNotice);
      expect(await main(page)).toContain('ada@gmail.test');
      await axe(page, `${words.locale} linked, one`);

      await page.locator('a[href="/account/linked/google/unlink"]').click();
      await page.waitForURL(`${app.issuer}/account/linked/google/unlink`);
      await axe(page, `${words.locale} unlink`);
      await page.locator('form[action="/account/linked/google/unlink"] button').click();
      await page.waitForURL(`${app.issuer}/account/linked?done=unlinked`);
      expect((await app.deps.accountLinks.list(ada.id))).toEqual([]);
    } finally {
      await context.close();
    }

    // An account that signs in only with Google cannot unlink it.
    const solo = await newPage(words.locale);
    try {
      google.person = { sub: `solo-${words.locale}`, email: `solo.${words.locale}@gmail.test`, email_verified: true };
      await solo.page.goto(`${app.issuer}/account/linked/google/unlink`);
      await solo.page.locator('form[action$="/federation/google"] button').click();
      await solo.page.waitForURL(`${app.issuer}/account/linked/google/unlink`);
      expect(await main(solo.page)).toContain(words.refusedLast);
      expect(await solo.page.locator('form[action="/account/linked/google/unlink"]').count()).toBe(0);
      await axe(solo.page, `${words.locale} unlink refused`);
    } finally {
      await solo.context.close();
    }
  });

  it.each(languages)('downloads the data and deletes the account ($locale)', async (words) => {
    const email = `delete.${words.locale}@example.com`;
    const account = await app.deps.accounts.create({ email, password: PASSWORD, emailVerified: true });
    const { context, page } = await newPage(words.locale);
    try {
      await page.goto(`${app.issuer}/account/data`);
      await page.locator('form[action$="/login"] [name=email]').fill(email);
      await page.locator('form[action$="/login"] [name=password]').fill(PASSWORD);
      await page.locator('form[action$="/login"] button[type=submit]').click();
      await page.waitForURL(`${app.issuer}/account/data`);
      await axe(page, `${words.locale} data`);

      const downloading = page.waitForEvent('download');
      await page.locator('main a.button[href="/account/data/export"]').click();
      const download = await downloading;
      expect(download.suggestedFilename()).toMatch(/^account-data-\d{4}-\d\d-\d\d\.json$/);
      const exported = JSON.parse(await readFile(await download.path(), 'utf8')) as { profile: { id: string; email: string } };
      expect(exported.profile).toMatchObject({ id: account.id, email });

      await page.locator('a[href="/account/data/delete"]').click();
      await page.waitForURL(`${app.issuer}/account/data/delete`);
      await axe(page, `${words.locale} delete`);
      await page.locator('#delete-confirmation').fill('someone.else@example.com');
      await page.locator('form[action="/account/data/delete"] button[type=submit]').click();
      await page.locator('#delete-problem').waitFor();
      expect(await main(page)).toContain(words.deleteMismatch);
      await axe(page, `${words.locale} delete refused`);
      expect(await app.deps.accounts.findById(account.id)).not.toBeNull();

      await page.locator('#delete-confirmation').fill(email);
      await page.locator('form[action="/account/data/delete"] button[type=submit]').click();
      await page.waitForURL(`${app.issuer}/account/deleted`);
      expect(await main(page)).toContain(words.deleted);
      await axe(page, `${words.locale} deleted`);
      expect(await app.deps.accounts.findById(account.id)).toBeNull();
    } finally {
      await context.close();
    }
  });

  it('found no accessibility problem on any of those pages, light or dark', () => {
    expect(problems).toEqual([]);
  });
});
