import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { loadConfig } from '../../src/config/load.ts';
import { buildDeps, type Deps } from '../../src/deps.ts';
import { createApp } from '../../src/app.ts';
import { CHROMIUM_PATH, hasChromium, launchChromium } from '../../test/helpers/chromium.ts';

/*
 * `npm run screenshots`: the hosted pages as PNGs for the README and the docs, taken in Debian's
 * Chromium (`apt-get install -y chromium fonts-ipafont-gothic`: test/browser's browser, and a
 * font for the 日本語 every page lists). The provider runs in this process, as src/main.ts starts
 * it, on a loopback port and a throwaway DATA_DIR (embedded database), with one client and one
 * account; nothing of the machine's own configuration is read.
 *
 * To add a shot: one entry in `shots`.
 */

const here = dirname(fileURLToPath(import.meta.url));
const EMAIL = 'ada@example.com';
// Has an authenticator app and recovery codes: the second-factor page.
const TWO_STEP_EMAIL = 'grace@example.com';
// Has none: the enrolment page when the application asks for a second factor.
const NEW_EMAIL = 'alan@example.com';
const PASSWORD = 'correct horse battery staple';
const CLIENT_ID = 'example-app';
// Never reached: the shots stop on our own pages.
const REDIRECT_URI = 'http://127.0.0.1:9/callback';

interface Shot {
  file: string;
  locale: string;
  colorScheme: 'light' | 'dark';
  /** Walks a fresh page (its own cookies) to what is shot. */
  reach: (page: Page, world: World) => Promise<void>;
}

interface World {
  issuer: string;
}

/** Signs in with a password on the login page of a fresh authorization request. */
async function passwordStep(page: Page, world: World, locale: string, email: string, extra: Record<string, string> = {}): Promise<void> {
  await loginPage(page, world, locale, extra);
  const form = page.locator('form[action$="/login"]');
  await form.locator('[name=email]').fill(email);
  await form.locator('[name=password]').fill(PASSWORD);
  await form.locator('button[type=submit]').click();
}

/** An authorization request of the example application (code flow, PKCE), in `locale`. */
function authorizationUrl(issuer: string, locale: string, extra: Record<string, string> = {}): string {
  const verifier = randomBytes(32).toString('base64url');
  return `${issuer}/auth?${new URLSearchParams({
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT_URI,
    response_type: 'code',
    scope: 'openid profile email',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    state: randomBytes(16).toString('base64url'),
    ui_locales: locale,
    ...extra,
  })}`;
}

async function loginPage(page: Page, world: World, locale: string, extra: Record<string, string> = {}): Promise<void> {
  await page.goto(authorizationUrl(world.issuer, locale, extra));
  await page.locator('form[action$="/login"] input[name=password]').waitFor();
}

const shots: Shot[] = [
  { file: 'login-en-light.png', locale: 'en', colorScheme: 'light', reach: (page, world) => loginPage(page, world, 'en') },
  { file: 'login-de-dark.png', locale: 'de', colorScheme: 'dark', reach: (page, world) => loginPage(page, world, 'de') },
  { file: 'login-ja-light.png', locale: 'ja', colorScheme: 'light', reach: (page, world) => loginPage(page, world, 'ja') },
  {
    file: 'consent-fr-dark.png', locale: 'fr', colorScheme: 'dark',
    async reach(page, world) {
      // prompt=consent with offline_access: the consent page lists every permission.
      await loginPage(page, world, 'fr', { prompt: 'consent', scope: 'openid profile email offline_access roles' });
      const form = page.locator('form[action$="/login"]');
      await form.locator('[name=email]').fill(EMAIL);
      await form.locator('[name=password]').fill(PASSWORD);
      await form.locator('button[type=submit]').click();
      await page.locator('form[action$="/confirm"] button[type=submit]').waitFor();
    },
  },
  {
    file: 'second-factor-en-light.png', locale: 'en', colorScheme: 'light',
    async reach(page, world) {
      await passwordStep(page, world, 'en', TWO_STEP_EMAIL);
      await page.locator('form[action$="/second-factor"] input[name=code]').waitFor();
    },
  },
  {
    file: 'enrol-totp-de-dark.png', locale: 'de', colorScheme: 'dark',
    async reach(page, world) {
      // The application asks for a second factor (acr_values=mfa) of an account without one.
      await passwordStep(page, world, 'de', NEW_EMAIL, { acr_values: 'mfa' });
      await page.locator('form[action$="/enrol/totp"] button[type=submit]').click();
      await page.locator('img.qr').waitFor();
    },
  },
];

/** Whether a font for Japanese is installed: without one Chromium draws boxes (tofu). */
function hasJapaneseFont(): boolean {
  try {
    return execFileSync('fc-list', [':lang=ja', 'family'], { encoding: 'utf8' }).trim() !== '';
  } catch {
    return false;
  }
}

async function startProvider(dataDir: string): Promise<{ issuer: string; deps: Deps; close(): Promise<void> }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;
  // Only what is given here: no SMTP (mail would go to DATA_DIR/outbox), no upstreams, default branding.
  const config = loadConfig({ ISSUER: issuer, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'silent' }, dataDir);
  const deps = await buildDeps(config, { role: 'server' });
  server.on('request', createApp(deps).callback());
  return {
    issuer,
    deps,
    async close() {
      server.closeAllConnections();
      server.close();
      await deps.close();
    },
  };
}

async function main(): Promise<void> {
  if (!hasChromium()) throw new Error(`${CHROMIUM_PATH} is missing: install Debian's Chromium (apt-get install -y chromium)`);
  // Every page lists 日本語 among its languages: without the font, every shot would show boxes there.
  if (!hasJapaneseFont()) throw new Error('no Japanese font is installed, so 日本語 would be drawn as boxes: apt-get install -y fonts-ipafont-gothic');
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-screenshots-'));
  let provider: Awaited<ReturnType<typeof startProvider>> | undefined;
  let browser: Browser | undefined;
  try {
    [provider, browser] = await Promise.all([startProvider(dataDir), launchChromium()]);
    await provider.deps.accounts.create({ email: EMAIL, password: PASSWORD, name: 'Ada Lovelace', givenName: 'Ada', familyName: 'Lovelace', emailVerified: true });
    const twoStep = await provider.deps.accounts.create({ email: TWO_STEP_EMAIL, password: PASSWORD, name: 'Grace Hopper', emailVerified: true });
    const enrolment = await provider.deps.mfa.enrolTotp(twoStep.id, TWO_STEP_EMAIL);
    const { TOTP } = await import('otpauth');
    const code = new TOTP({ secret: enrolment.secret, digits: 6, period: 30, algorithm: 'SHA1' }).generate();
    if ((await provider.deps.mfa.confirmTotp(twoStep.id, enrolment.factorId, code)) !== 'ok') throw new Error('could not enrol the example authenticator app');
    await provider.deps.mfa.newRecoveryCodes(twoStep.id);
    await provider.deps.accounts.create({ email: NEW_EMAIL, password: PASSWORD, name: 'Alan Turing', emailVerified: true });
    await provider.deps.clients.create({ id: CLIENT_ID, name: 'Example App', redirectUris: [REDIRECT_URI], grantTypes: ['authorization_code', 'refresh_token'] });
    const world: World = { issuer: provider.issuer };

    for (const shot of shots) {
      const path = join(here, shot.file);
      const context = await browser.newContext({
        viewport: { width: 900, height: 900 }, deviceScaleFactor: 1, locale: shot.locale, colorScheme: shot.colorScheme, reducedMotion: 'reduce',
      });
      context.setDefaultTimeout(30_000);
      try {
        const page = await context.newPage();
        await shot.reach(page, world);
        await page.evaluate('document.fonts.ready');
        // Nothing focused, no caret: the page as it first shows.
        await page.evaluate('document.activeElement && document.activeElement.blur()');
        await page.screenshot({ path, fullPage: true, animations: 'disabled', caret: 'hide' });
        console.log(`wrote ${relative(process.cwd(), path)} (${Math.round(statSync(path).size / 1024)} KB)`);
      } finally {
        await context.close();
      }
    }
  } finally {
    await browser?.close();
    await provider?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
