import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOTP } from 'otpauth';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { authorizationRequest, REDIRECT_URI, seedWebClient } from '../helpers/oidc.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { startSmtpServer } from '../helpers/smtp.ts';

/*
 * A password reset proves access to the mailbox, not to the second factor: it must not remove
 * the factors (issue 13 §6), and the next sign-in with the new password still asks for a code.
 */

describe('a password reset keeps the second factors', () => {
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;

  beforeAll(async () => {
    smtp = await startSmtpServer();
    app = await startTestApp({ SMTP_URL: smtp.url });
    rp = await seedWebClient(app);
  });
  afterAll(async () => {
    await app?.close();
    await smtp?.close();
  });

  it('keeps the authenticator app and the recovery codes, and the next sign-in asks for a code', async () => {
    const account = (await app.deps.accounts.findByEmail(rp.email))!;
    const enrolment = await app.deps.mfa.enrolTotp(account.id, rp.email);
    const totp = new TOTP({ secret: enrolment.secret, digits: 6, period: 30, algorithm: 'SHA1' });
    expect(await app.deps.mfa.confirmTotp(account.id, enrolment.factorId, totp.generate())).toBe('ok');
    await app.deps.mfa.newRecoveryCodes(account.id);

    await app.deps.selfService.requestReset(rp.email, { ip: '127.0.0.1' });
    const mail = await smtp.waitFor((message) => message.to.includes(rp.email) && message.links.some((href) => href.includes('/account/reset-password?token=')), 10_000);
    const token = new URL(mail.links.find((href) => href.includes('/account/reset-password?token='))!).searchParams.get('token')!;
    const newPassword = 'a brand new passphrase 77';
    expect(await app.deps.selfService.resetPassword(token, newPassword, { ip: '127.0.0.1' })).toEqual({ ok: true });

    expect((await app.deps.mfa.listFactors(account.id)).map((factor) => factor.kind)).toEqual(['totp']);
    expect(await app.deps.mfa.recoveryCodesLeft(account.id)).toBe(10);

    const browser = new Browser();
    const request = await authorizationRequest(rp.config, {}, { offline: false });
    const login = await browser.follow(request.url, REDIRECT_URI);
    if (!('html' in login)) throw new Error('expected the login page');
    const form = readForm(login.html, '/login');
    const next = await browser.follow(new URL(form.action, app.issuer), REDIRECT_URI, { form: { ...form.fields, email: rp.email, password: newPassword } });
    expect('html' in next && next.pageUrl).toMatch(/\/second-factor$/);
  });
});
