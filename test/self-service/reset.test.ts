import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser } from '../helpers/browser.ts';
import { seedWebClient, authorizationRequest, signInThroughPages, PASSWORD, REDIRECT_URI } from '../helpers/oidc.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { open, openLoginPage, submit } from '../helpers/self-service.ts';
import { testClock } from '../helpers/clock.ts';

type Smtp = Awaited<ReturnType<typeof startSmtpServer>>;

describe('password reset', () => {
  const clock = testClock();
  let smtp: Smtp;
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;
  const newPassword = 'harbour lantern seventeen';

  beforeAll(async () => {
    smtp = await startSmtpServer();
    // Several links for one address in a few seconds: above the default per-email limit.
    app = await startTestApp({ SMTP_URL: smtp.url, LIMIT_RESET_REQUESTS_PER_EMAIL: '20/1h' }, { clock });
    rp = await seedWebClient(app);
  });
  afterAll(async () => {
    await app?.close();
    await smtp?.close();
  });

  async function signIn(browser: Browser, password: string) {
    const request = await authorizationRequest(rp.config);
    const { callback } = await signInThroughPages(browser, request.url, { email: rp.email, password });
    return client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true });
  }

  async function requestResetLink(): Promise<string> {
    const login = await openLoginPage(rp.config);
    expect(login.html).toContain('Forgot password?');
    const form = await open(login.browser, app, `/interaction/${login.uid}/forgot`);
    // Counted before the request: the mail is sent after the response, and only a newer one is this link.
    const count = smtp.messages.length;
    const sent = await submit(login.browser, app, form.html, '/forgot', { email: rp.email.toUpperCase() });
    expect(sent.html).toContain('Check your email');
    const mail = await smtp.waitFor((message) => message.to.includes(rp.email) && /reset/i.test(message.subject) && smtp.messages.indexOf(message) >= count);
    return mail.links.find((href) => href.startsWith(`${app.issuer}/account/reset-password?token=`))!;
  }

  it('ends every session and revokes every refresh token, grant and consent of the account', async () => {
    // Two devices signed in, each with a refresh token.
    const laptop = new Browser();
    const phone = new Browser();
    const laptopTokens = await signIn(laptop, PASSWORD);
    const phoneTokens = await signIn(phone, PASSWORD);
    expect(laptopTokens.refresh_token && phoneTokens.refresh_token).toBeTruthy();

    const link = await requestResetLink();
    const resetter = new Browser();
    const form = await resetter.navigate(link);
    expect(form.html).toContain('Choose a new password');
    const weak = await submit(resetter, app, form.html, '/account/reset-password', { password: 'qwerty123' });
    expect(weak.status).toBe(400);
    expect(weak.html).toMatch(/common/);
    const done = await submit(resetter, app, form.html, '/account/reset-password', { password: newPassword });
    expect(done.html).toContain('Your password has been changed');

    // Refresh tokens from before the reset are dead.
    for (const tokens of [laptopTokens, phoneTokens]) {
      await expect(client.refreshTokenGrant(rp.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
      const introspection = await client.tokenIntrospection(rp.config, tokens.access_token);
      expect(introspection.active).toBe(false);
    }
    // The browser sessions are over: prompt=none now needs a login.
    const silent = await authorizationRequest(rp.config, { prompt: 'none' }, { offline: false });
    const result = await laptop.follow(silent.url, REDIRECT_URI);
    expect('url' in result && new URL(result.url).searchParams.get('error')).toBe('login_required');

    // Remembered consent is gone too, and only the new password works.
    const account = await app.deps.accounts.findByEmail(rp.email);
    const { rows } = await app.deps.db.query('SELECT 1 FROM consents WHERE account_id = $1', [account!.id]);
    expect(rows).toHaveLength(0);
    expect(await app.deps.accounts.authenticate(rp.email, PASSWORD)).toBeNull();
    const fresh = new Browser();
    const request = await authorizationRequest(rp.config);
    const { sawConsent } = await signInThroughPages(fresh, request.url, { email: rp.email, password: newPassword });
    expect(sawConsent).toBe(true);

    const notice = await smtp.waitFor((message) => message.to.includes(rp.email) && /password was changed/i.test(message.subject));
    expect(notice.text).toMatch(/signed out/i);
    const events = await app.deps.db.query<{ event: string }>('SELECT event FROM audit_events WHERE account_id = $1 ORDER BY id', [account!.id]);
    expect(events.rows.map((row) => row.event)).toEqual(expect.arrayContaining(['password_reset.requested', 'password_reset.completed']));
  });

  it('uses a link once; a used, expired or made-up link shows a page saying to ask again', async () => {
    const link = await requestResetLink();
    const browser = new Browser();
    const form = await browser.navigate(link);
    const done = await submit(browser, app, form.html, '/account/reset-password', { password: 'violet engine harbour 8' });
    expect(done.status).toBe(200);
    const reused = await submit(browser, app, form.html, '/account/reset-password', { password: 'another fine passphrase' });
    expect(reused.status).toBe(400);
    expect(reused.html).toContain('expired or was already used');
    expect((await browser.navigate(link)).status).toBe(400);

    // A link lives TTL_PASSWORD_RESET (30 minutes by default) from when it was sent, to the millisecond.
    const second = await requestResetLink();
    clock.advance(30 * 60_000 - 1);
    expect((await new Browser().navigate(second)).status).toBe(200);
    clock.advance(1);
    expect((await new Browser().navigate(second)).status).toBe(400);
    expect((await new Browser().navigate(`${app.issuer}/account/reset-password?token=${'A'.repeat(43)}`)).status).toBe(400);
    expect((await new Browser().navigate(`${app.issuer}/account/reset-password?token=<script>`)).status).toBe(400);
    // A form posted without its CSRF token is refused before anything happens.
    const third = await requestResetLink();
    const token = new URL(third).searchParams.get('token')!;
    const forged = await new Browser().request(`${app.issuer}/account/reset-password`, { form: { token, password: 'forged passphrase 123' } });
    expect(forged.status).toBe(403);
    expect(await app.deps.accounts.authenticate(rp.email, 'forged passphrase 123')).toBeNull();
  });
});
