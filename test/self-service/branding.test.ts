import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { seedWebClient } from '../helpers/oidc.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { openLoginPage, open, submit } from '../helpers/self-service.ts';
import { loadConfig } from '../../src/config/load.ts';

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

  it('refuses a brand that is not one line of visible characters', () => {
    expect(() => loadConfig({ BRAND_NAME: 'two\nlines' }, '/nonexistent-dir')).toThrow(/branding\.name: one line of visible characters/);
    expect(() => loadConfig({ BRAND_NAME: 'x'.repeat(61) }, '/nonexistent-dir')).toThrow(/branding\.name/);
  });
});
