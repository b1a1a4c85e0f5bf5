import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as client from 'openid-client';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser } from '../helpers/browser.ts';
import { seedWebClient, signInThroughPages, authorizationRequest, REDIRECT_URI } from '../helpers/oidc.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { open, openLoginPage, submit } from '../helpers/self-service.ts';
import { testClock } from '../helpers/clock.ts';

type Smtp = Awaited<ReturnType<typeof startSmtpServer>>;

describe('registration with email verification, through a real SMTP server', () => {
  const clock = testClock();
  let smtp: Smtp;
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;
  const password = 'tulip kettle orbit 42';

  beforeAll(async () => {
    smtp = await startSmtpServer();
    app = await startTestApp({ SMTP_URL: smtp.url, MAIL_FROM: 'Sign-in <no-reply@id.test>', REQUIRE_VERIFIED_EMAIL: 'true' }, { clock });
    rp = await seedWebClient(app);
  });
  afterAll(async () => {
    await app?.close();
    await smtp?.close();
  });

  async function countAccounts(): Promise<number> {
    await app.deps.background.drain();
    const { rows } = await app.deps.db.query<{ n: string }>('SELECT count(*) AS n FROM accounts');
    return Number(rows[0]!.n);
  }

  it('registers, verifies by the mailed link, then signs in at the relying party', async () => {
    const login = await openLoginPage(rp.config);
    expect(login.html).toContain('Create an account');
    const form = await open(login.browser, app, `/interaction/${login.uid}/register`);
    expect(form.status).toBe(200);
    const done = await submit(login.browser, app, form.html, '/register', { email: 'Newcomer@Example.com', name: 'New Comer', password });
    expect(done.status).toBe(200);
    expect(done.html).toContain('Check your email');

    const mail = await smtp.waitFor((message) => message.to.includes('newcomer@example.com'));
    expect(mail.subject).toMatch(/confirm/i);
    const link = mail.links.find((href) => href.startsWith(`${app.issuer}/account/verify-email?token=`))!;
    expect(link).toBeTruthy();

    // Until the email is verified, the right password does not finish the sign-in.
    const early = await openLoginPage(rp.config);
    const blocked = await submit(early.browser, app, early.html, '/login', { email: 'newcomer@example.com', password });
    expect(blocked.status).toBe(403);
    expect(blocked.html).toContain('Verify your email address');

    // Opening the link changes nothing (mail scanners open links); the button does.
    const confirm = await new Browser().navigate(link);
    expect(confirm.status).toBe(200);
    expect((await app.deps.accounts.findByEmail('newcomer@example.com'))!.emailVerified).toBe(false);
    const verifier = new Browser();
    const page = await verifier.navigate(link);
    const verified = await submit(verifier, app, page.html, '/account/verify-email');
    expect(verified.html).toContain('Your email address is verified');
    expect((await app.deps.accounts.findByEmail('newcomer@example.com'))!.emailVerified).toBe(true);
    // The link works once.
    const again = await submit(verifier, app, page.html, '/account/verify-email');
    expect(again.status).toBe(400);

    const browser = new Browser();
    const request = await authorizationRequest(rp.config);
    const { callback } = await signInThroughPages(browser, request.url, { email: 'newcomer@example.com', password });
    expect(callback.startsWith(REDIRECT_URI)).toBe(true);
    const tokens = await client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true });
    const info = await client.fetchUserInfo(rp.config, tokens.access_token, tokens.claims()!.sub);
    expect(info).toMatchObject({ email: 'newcomer@example.com', email_verified: true, name: 'New Comer' });

    const { rows } = await app.deps.db.query<{ event: string }>("SELECT event FROM audit_events WHERE lower(email) = 'newcomer@example.com' ORDER BY id");
    expect(rows.map((row) => row.event)).toEqual(expect.arrayContaining(['account.registered', 'email.verified', 'login.failed', 'login.succeeded']));
  });

  it('refuses every password the policy rejects, saying what to change, and creates nothing', async () => {
    const before = await countAccounts();
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ email: 'p1@example.com', password: 'short1' }, /at least 8 characters/],
      [{ email: 'p2@example.com', password: 'x'.repeat(257) }, /at most 256 characters/],
      [{ email: 'p3@example.com', password: 'Password1' }, /common/],
      [{ email: 'p4@example.com', password: 'iloveyou' }, /common/],
      [{ email: 'P5@Example.com', password: 'p5@example.com' }, /email/],
      [{ email: 'not an email', password }, /valid email address/],
      [{ email: 'p6@example.com', password, name: 'n'.repeat(201) }, /200 characters/],
    ];
    for (const [fields, message] of cases) {
      const login = await openLoginPage(rp.config);
      const form = await open(login.browser, app, `/interaction/${login.uid}/register`);
      const page = await submit(login.browser, app, form.html, '/register', { name: '', ...fields });
      expect(page.status, JSON.stringify(fields).slice(0, 80)).toBe(400);
      expect(page.html).toMatch(message);
      // The email is kept for the next try; the password never comes back.
      if (!fields.email!.includes(' ')) expect(page.html).toContain(`value="${fields.email}"`);
      expect(page.html).not.toContain(`value="${fields.password}"`);
    }
    // 64 characters are always accepted, and so are spaces and any characters.
    const login = await openLoginPage(rp.config);
    const form = await open(login.browser, app, `/interaction/${login.uid}/register`);
    const ok = await submit(login.browser, app, form.html, '/register', { email: 'long@example.com', password: 'ünïcødé words & spaces '.repeat(3).slice(0, 64) });
    expect(ok.status).toBe(200);
    await app.deps.background.drain(); // the account is written after the response
    expect(await countAccounts()).toBe(before + 1);
  });

  it('answers an already registered email with the same page and tells the owner by mail', async () => {
    const before = await countAccounts();
    const login = await openLoginPage(rp.config);
    const form = await open(login.browser, app, `/interaction/${login.uid}/register`);
    const page = await submit(login.browser, app, form.html, '/register', { email: rp.email, password: 'a different passphrase 9' });
    expect(page.status).toBe(200);
    expect(page.html).toContain('Check your email');
    const mail = await smtp.waitFor((message) => message.to.includes(rp.email) && /tried to create an account/i.test(message.subject));
    expect(mail.links).not.toContain(expect.stringContaining('verify-email'));
    await app.deps.background.drain();
    expect(await countAccounts()).toBe(before);
    expect(await app.deps.accounts.authenticate(rp.email, 'a different passphrase 9')).toBeNull();
  });

  it('a verification link works for TTL_EMAIL_VERIFICATION (24 hours by default), to the millisecond', async () => {
    const login = await openLoginPage(rp.config);
    const form = await open(login.browser, app, `/interaction/${login.uid}/register`);
    await submit(login.browser, app, form.html, '/register', { email: 'late@example.com', password });
    const mail = await smtp.waitFor((message) => message.to.includes('late@example.com'));
    const link = mail.links.find((href) => href.startsWith(`${app.issuer}/account/verify-email?token=`))!;

    clock.advance(24 * 3600_000 - 1);
    const verifier = new Browser();
    const page = await verifier.navigate(link);
    expect(page.status).toBe(200);
    clock.advance(1);
    const late = await submit(verifier, app, page.html, '/account/verify-email');
    expect(late.status).toBe(400);
    expect(late.html).toContain('This link has expired');
    expect((await app.deps.accounts.findByEmail('late@example.com'))!.emailVerified).toBe(false);
  });
});

describe('registration turned off by the operator', () => {
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;

  beforeAll(async () => {
    app = await startTestApp({ REGISTRATION_ENABLED: 'false' });
    rp = await seedWebClient(app);
  });
  afterAll(async () => app?.close());

  it('shows no link and refuses the page; password reset still works without SMTP (outbox)', async () => {
    const login = await openLoginPage(rp.config);
    expect(login.html).not.toContain('Create an account');
    expect((await open(login.browser, app, `/interaction/${login.uid}/register`)).status).toBe(404);
    expect(app.deps.mailer.mode).toBe('outbox');

    const forgot = await open(login.browser, app, `/interaction/${login.uid}/forgot`);
    const sent = await submit(login.browser, app, forgot.html, '/forgot', { email: rp.email });
    expect(sent.html).toContain('Check your email');
    const outbox = join(app.deps.config.dataDir, 'outbox');
    let files: string[] = [];
    let eml = '';
    // The file appears before its content is written: wait for the whole message.
    for (let tries = 0; tries < 50 && !eml.includes('To:'); tries++) {
      files = existsSync(outbox) ? readdirSync(outbox).filter((name) => name.endsWith('.eml')) : [];
      eml = files.length ? readFileSync(join(outbox, files[0]!), 'utf8') : '';
      if (!eml.includes('To:')) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(files).toHaveLength(1);
    expect(eml).toContain(`To: ${rp.email}`);
    expect(eml.replace(/=\r?\n/g, '')).toContain(`${app.issuer}/account/reset-password?token=`);
  });
});
