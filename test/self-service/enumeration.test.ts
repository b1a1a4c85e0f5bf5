import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { seedWebClient } from '../helpers/oidc.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { normalise, open, openLoginPage, submit, type Page } from '../helpers/self-service.ts';

type Smtp = Awaited<ReturnType<typeof startSmtpServer>>;

/**
 * For each page that takes an email, an existing and an unknown address must get the same status
 * and the same body, apart from the CSRF token, the interaction id and the echoed address.
 */
describe('no account enumeration', () => {
  let smtp: Smtp;
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;
  const unknown = 'nobody-here@example.com';
  let unverified: string;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    app = await startTestApp({ SMTP_URL: smtp.url });
    rp = await seedWebClient(app);
    unverified = 'pending@example.com';
    await app.deps.accounts.create({ email: unverified, password: 'pending person passphrase', emailVerified: false });
  });
  afterAll(async () => {
    await app?.close();
    await smtp?.close();
  });

  async function attempt(step: (login: Awaited<ReturnType<typeof openLoginPage>>) => Promise<Page>, email: string): Promise<{ status: number; body: string }> {
    const login = await openLoginPage(rp.config);
    const page = await step(login);
    return { status: page.status, body: normalise(page.html, { [email]: 'EMAIL' }) };
  }

  async function expectSame(step: (login: Awaited<ReturnType<typeof openLoginPage>>, email: string) => Promise<Page>, existing: string) {
    const known = await attempt((login) => step(login, existing), existing);
    const other = await attempt((login) => step(login, unknown), unknown);
    expect(other.status).toBe(known.status);
    expect(other.body).toBe(known.body);
    return known;
  }

  it('login: a wrong password and an unknown email look the same', async () => {
    const result = await expectSame((login, email) => submit(login.browser, app, login.html, '/login', { email, password: 'not the password 1' }), rp.email);
    expect(result.status).toBe(400);
    expect(result.body).toContain('Incorrect email or password.');
  });

  it('registration: a taken email gets the same page as a new one', async () => {
    const before = smtp.messages.length;
    const result = await expectSame(async (login, email) => {
      const form = await open(login.browser, app, `/interaction/${login.uid}/register`);
      return submit(login.browser, app, form.html, '/register', { email, name: 'Some One', password: 'registration passphrase 1' });
    }, rp.email);
    expect(result.body).toContain('Check your email');
    // Both addresses got mail: a note to the owner, a verification link to the newcomer.
    await smtp.waitFor((mail) => mail.to.includes(rp.email) && smtp.messages.indexOf(mail) >= before);
    await smtp.waitFor((mail) => mail.to.includes(unknown) && smtp.messages.indexOf(mail) >= before);
  });

  it('password reset: the same answer whether or not an account has the email', async () => {
    const result = await expectSame(async (login, email) => {
      const form = await open(login.browser, app, `/interaction/${login.uid}/forgot`);
      return submit(login.browser, app, form.html, '/forgot', { email });
    }, rp.email);
    expect(result.status).toBe(200);
  });

  it('resend verification: the same answer for an unverified account and an unknown email', async () => {
    const result = await expectSame(async (login, email) => {
      const form = await open(login.browser, app, `/interaction/${login.uid}/forgot`);
      // The resend form sits on the check-email page; post to it directly with the page's CSRF.
      const csrf = /name="csrf" value="([^"]+)"/.exec(form.html)![1]!;
      return login.browser.navigate(new URL(`/interaction/${login.uid}/resend`, app.issuer).href, { csrf, email });
    }, unverified);
    expect(result.status).toBe(200);
    expect(result.body).toContain('Check your email');
  });
});
