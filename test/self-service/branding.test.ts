import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { seedWebClient } from '../helpers/oidc.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { openLoginPage, open, submit } from '../helpers/self-service.ts';
import { loadConfig } from '../../src/config/load.ts';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Smtp = Awaited<ReturnType<typeof startSmtpServer>>;

describe('BRAND_NAME names the product on pages and in mail', () => {
  let smtp: Smtp;
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    app = await startTestApp({ SMTP_URL: smtp.url, BRAND_NAME: 'Acme, "ID" & Co' });
    rp = await seedWebClient(app);
  });
  afterAll(async () => {
    await app?.close();
    await smtp?.close();
  });

  it('shows the brand in the title and header of the login page and the home page, escaped', async () => {
    const login = await openLoginPage(rp.config);
    expect(login.html).toContain('Acme, &#34;ID&#34; &amp; Co');
    expect(login.html).not.toContain('>Sign-in<');
    const home = await (await fetch(`${app.issuer}/`)).text();
    expect(home).toMatch(/<title>[^<]*Acme, &#34;ID&#34; &amp; Co<\/title>/);
    expect(home).toContain('<h1>Acme, &#34;ID&#34; &amp; Co</h1>');
  });

  it('sends mail from the brand by name and names it in the text', async () => {
    const login = await openLoginPage(rp.config);
    const form = await open(login.browser, app, `/interaction/${login.uid}/forgot`);
    await submit(login.browser, app, form.html, '/forgot', { email: rp.email });
    const mail = await smtp.waitFor((message) => message.to.includes(rp.email));
    expect(mail.raw).toMatch(/^From: "Acme, \\"ID\\" & Co" <no-reply@localhost>\r$/m);
    expect(mail.text).toContain('your Acme, "ID" & Co account');
  });

  it('names the brand on every page: sign-in steps, errors, 404, sign-out', async () => {
    const login = await openLoginPage(rp.config);
    const pages = [
      login.html,
      (await open(login.browser, app, `/interaction/${login.uid}/register`)).html,
      (await open(login.browser, app, `/interaction/${login.uid}/forgot`)).html,
      (await fetch(`${app.issuer}/no-such-page`, { headers: { accept: 'text/html' } }).then((response) => response.text())),
      (await fetch(`${app.issuer}/interaction/expired-one`, { headers: { accept: 'text/html' } }).then((response) => response.text())),
      (await fetch(`${app.issuer}/auth?client_id=nobody&response_type=code&scope=openid`).then((response) => response.text())),
      (await fetch(`${app.issuer}/session/end`).then((response) => response.text())),
    ];
    for (const html of pages) {
      expect(html).toMatch(/<title>[^<]* · Acme, &#34;ID&#34; &amp; Co<\/title>/);
      expect(html).toContain('<p class="product">Acme, &#34;ID&#34; &amp; Co</p>');
      expect(html).not.toMatch(/>Sign-in</);
    }
  });

  it('refuses a brand that is not one line of visible characters', () => {
    expect(() => loadConfig({ BRAND_NAME: 'two\nlines' }, '/nonexistent-dir')).toThrow(/branding\.name: one line of visible characters/);
    expect(() => loadConfig({ BRAND_NAME: 'x'.repeat(61) }, '/nonexistent-dir')).toThrow(/branding\.name/);
  });
});

describe('THEME_DIR: templates, messages, styles and files of the operator\'s own', () => {
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'idp-theme-'));
    mkdirSync(join(dir, 'views'));
    mkdirSync(join(dir, 'locales'));
    mkdirSync(join(dir, 'assets'));
    // One template overridden; it still uses the catalogue and the layout.
    writeFileSync(join(dir, 'views', 'home.ejs'), '<h1 class="themed"><%= it.t("home.themed", { brand: it.brand.name }) %></h1>\n');
    writeFileSync(join(dir, 'locales', 'en.json'), JSON.stringify({ home: { themed: 'Welcome to {{brand}}' }, login: { heading: 'Sign in to Acme' } }));
    writeFileSync(join(dir, 'locales', 'de.json'), JSON.stringify({ home: { themed: 'Willkommen bei {{brand}}' } }));
    writeFileSync(join(dir, 'style.css'), '.card { border-top: 4px solid var(--accent); }\n');
    writeFileSync(join(dir, 'assets', 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
    app = await startTestApp({ THEME_DIR: dir, BRAND_NAME: 'Acme', BRAND_LOGO_URL: '/assets/theme/logo.svg', BRAND_ACCENT_COLOR: '#0b6e4f' });
    rp = await seedWebClient(app);
  });
  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('overrides one template and one message; every other page stays built in', async () => {
    const home = await (await fetch(`${app.issuer}/`)).text();
    expect(home).toContain('<h1 class="themed">Welcome to Acme</h1>');
    expect(home).toContain('<title>Home · Acme</title>');
    const german = await (await fetch(`${app.issuer}/`, { headers: { 'accept-language': 'de' } })).text();
    expect(german).toContain('Willkommen bei Acme');
    const login = await openLoginPage(rp.config);
    expect(login.html).toContain('<h1>Sign in to Acme</h1>');
    expect(login.html).toContain('autocomplete="current-password"');
  });

  it('serves the logo, the brand colours and the extra stylesheet, linked from every page', async () => {
    const home = await (await fetch(`${app.issuer}/`)).text();
    expect(home).toContain('<img class="logo" src="/assets/theme/logo.svg" alt="Acme">');
    const sheets = [...home.matchAll(/<link rel="stylesheet" href="([^"]+)">/g)].map((match) => match[1]!);
    expect(sheets[0]).toBe('/assets/style.css');
    const css = await Promise.all(sheets.map(async (href) => (await fetch(`${app.issuer}${href}`)).text()));
    expect(css.join('\n')).toContain('#0b6e4f');
    expect(css.join('\n')).toContain('border-top: 4px solid var(--accent)');
    const logo = await fetch(`${app.issuer}/assets/theme/logo.svg`);
    expect(logo.status).toBe(200);
    expect(logo.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
  });

  it('refuses an accent colour that white text cannot be read on', () => {
    expect(() => loadConfig({ BRAND_ACCENT_COLOR: '#7b9cff' }, '/nonexistent-dir')).toThrow(/branding\.colors\.accent: .*contrast 2\.6/);
  });
});

describe('a language the catalogue does not have', () => {
  it('stops start-up when DEFAULT_LOCALE has no messages, naming the key', async () => {
    await expect(startTestApp({ DEFAULT_LOCALE: 'nl' })).rejects.toThrow(/defaultLocale: the default language "nl" has no messages/);
  });
});
