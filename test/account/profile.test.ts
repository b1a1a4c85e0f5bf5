import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { testClock } from '../helpers/clock.ts';
import { Browser } from '../helpers/browser.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { authorizationRequest, PASSWORD, seedWebClient, signInThroughPages } from '../helpers/oidc.ts';
import { startFakeOidcUpstream, type FakeOidcUpstream } from '../helpers/fake-oidc-upstream.ts';
import { allowIfAsked, pressUpstreamButton, redeem } from '../helpers/federation.ts';
import { auditEvents, csrfOf, mainOf, openConsole, seedPerson, throughSignIn, url } from './console.ts';

/*
 * The profile, the sign-in address and the password in the account console (issue 14 §1, §2),
 * over real HTTP without JavaScript, on real mail (an SMTP server on loopback): a profile change
 * shows in userinfo and the next ID token; a new address changes only through the link mailed to
 * it, the old one is told, and a taken address gets the same answer and changes nothing; the
 * password changes with the current one (wrong ones count toward the sign-in lockout), under the
 * policy, signing the other devices out when asked; an account made through an upstream sets one.
 */

const NEW_PASSWORD = 'a much longer passphrase 2026';

describe('profile, email address and password in the account console', () => {
  const clock = testClock(Date.UTC(2026, 5, 14, 9, 0, 0));
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let google: FakeOidcUpstream;
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;
  const ada = 'ada@example.com';

  beforeAll(async () => {
    [smtp, google] = await Promise.all([startSmtpServer(), startFakeOidcUpstream()]);
    // A short lockout, so that counting wrong current passwords is seen in a few tries.
    app = await startTestApp({ SMTP_URL: smtp.url, LOCKOUT_THRESHOLD: '3', ...google.env('google') }, { clock });
    rp = await seedWebClient(app, { email: ada });
  });
  afterAll(async () => {
    await app?.close();
    await Promise.all([smtp?.close(), google?.close()]);
  });

  /** Signs `browser` in at the relying party (no consent asked for offline access) and redeems the code. */
  async function signInToRp(browser: Browser, email: string, password = PASSWORD, options: { offline?: boolean } = {}) {
    const request = await authorizationRequest(rp.config, {}, { offline: options.offline ?? false });
    const { callback } = await signInThroughPages(browser, request.url, { email, password });
    return client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true });
  }

  const accountOf = async (email: string) => (await app.deps.accounts.findByEmail(email))!;
  const problemOf = (html: string, field: string) => new RegExp(`<p class="field-problem" id="profile-${field}-problem">([^<]+)</p>`).exec(html)?.[1] ?? null;

  describe('the profile', () => {
    it('is the console\'s home, listed first, and links to the address and the password', async () => {
      const { browser, page } = await openConsole(app, { email: ada }, '/account');
      expect(page.url).toBe(url(app, '/account/profile'));
      const nav = page.html.slice(page.html.indexOf('<nav class="account-nav"'), page.html.indexOf('</nav>'));
      expect(nav.indexOf('href="/account/profile" aria-current="page"')).toBeGreaterThan(-1);
      expect(nav.indexOf('/account/profile')).toBeLessThan(nav.indexOf('/account/security'));
      expect(page.html).toContain('href="/account/email"');
      expect(page.html).toContain('href="/account/password"');
      for (const id of ['profile-name', 'profile-givenName', 'profile-familyName', 'profile-picture', 'profile-locale']) expect(page.html).toContain(`<label for="${id}">`);
      expect(page.html).toContain('value="Ada Lovelace"');
      expect((await browser.request(url(app, '/account'))).headers.get('location')).toBe('/account/profile');
    });

    it('saves the fields, which show at once in userinfo and in the next ID token', async () => {
      const browser = new Browser();
      const before = await signInToRp(browser, ada);
      expect(before.claims()).toMatchObject({ name: 'Ada Lovelace', given_name: 'Ada', family_name: 'Lovelace' });
      const { page } = await openConsole(app, { email: ada }, '/account/profile', browser);
      const saved = await browser.request(url(app, '/account/profile'), { form: {
        csrf: csrfOf(page.html), name: '  Augusta Ada King  ', given_name: 'Augusta Ada', family_name: 'King', picture: 'https://Pictures.Example.com/ada.png', locale: 'de',
      } });
      expect(saved.status).toBe(303);
      expect(saved.headers.get('location')).toBe('/account/profile?done=saved');
      const shown = await browser.navigate(url(app, '/account/profile?done=saved'));
      // The page now speaks the language the profile names.
      expect(shown.html).toContain('<html lang="de"');
      expect(shown.html).toContain('role="status"');
      expect(shown.html).toContain('value="Augusta Ada King"');
      expect(shown.html).toMatch(/<option value="de" lang="de" selected>/);

      const expected = { name: 'Augusta Ada King', given_name: 'Augusta Ada', family_name: 'King', picture: 'https://pictures.example.com/ada.png', locale: 'de' };
      // Userinfo with the access token issued before the change already says so…
      expect(await client.fetchUserInfo(rp.config, before.access_token, before.claims()!.sub)).toMatchObject(expected);
      // …and so does the next ID token, from the same browser's session.
      const after = await signInToRp(browser, ada);
      expect(after.claims()).toMatchObject(expected);
      expect(after.claims()!.updated_at).toBeGreaterThanOrEqual(before.claims()!.updated_at as number);

      const events = await auditEvents(app, before.claims()!.sub, 'profile.updated');
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ reason: 'account_console', ip: expect.any(String), details: { fields: ['name', 'givenName', 'familyName', 'picture', 'locale'] } });
    });

    it('clears a field sent empty, and "automatic" clears the language; saving nothing new records nothing', async () => {
      const { browser, page } = await openConsole(app, { email: ada }, '/account/profile');
      const form = { csrf: csrfOf(page.html), name: 'Augusta Ada King', given_name: '', family_name: 'King', picture: '', locale: '' };
      expect((await browser.request(url(app, '/account/profile'), { form })).headers.get('location')).toBe('/account/profile?done=saved');
      const account = await accountOf(ada);
      expect(account).toMatchObject({ name: 'Augusta Ada King', givenName: null, familyName: 'King', picture: null, locale: null });
      const claims = (await app.deps.accounts.claims(account.id))!;
      expect(claims).not.toHaveProperty('given_name');
      expect(claims).not.toHaveProperty('picture');
      expect(claims).not.toHaveProperty('locale');
      expect((await browser.request(url(app, '/account/profile'), { form })).headers.get('location')).toBe('/account/profile?done=unchanged');
      expect((await auditEvents(app, account.id, 'profile.updated')).at(-1)!.details).toEqual({ fields: ['givenName', 'picture', 'locale'] });
      expect(await auditEvents(app, account.id, 'profile.updated')).toHaveLength(2);
    });

    it('refuses each bad field with its own message, keeps what was typed and changes nothing', async () => {
      const { browser, page } = await openConsole(app, { email: ada }, '/account/profile');
      const before = await accountOf(ada);
      const refused = await browser.navigate(url(app, '/account/profile'), {
        csrf: csrfOf(page.html), name: 'x'.repeat(201), given_name: 'Ada\u0007', family_name: 'King\u202Eevil', picture: 'http://example.com/ada.png', locale: 'tlh',
      });
      expect(refused.status).toBe(400);
      expect(refused.html).toContain('role="alert"');
      expect(problemOf(refused.html, 'name')).toBe('Use at most 200 characters.');
      expect(problemOf(refused.html, 'givenName')).toBe('Remove line breaks and invisible control characters.');
      expect(problemOf(refused.html, 'familyName')).toBe('Remove line breaks and invisible control characters.');
      expect(problemOf(refused.html, 'picture')).toBe('Use an address that starts with https://.');
      expect(problemOf(refused.html, 'locale')).toBe('Choose a language from the list.');
      expect(refused.html).toMatch(/id="profile-name"[^>]*aria-invalid="true" aria-describedby="profile-name-problem profile-name-hint" autofocus/);
      expect(refused.html).toContain(`value="${'x'.repeat(201)}"`);
      expect(refused.html).toContain('value="http://example.com/ada.png"');

      const credentials = await browser.navigate(url(app, '/account/profile'), { csrf: csrfOf(page.html), picture: 'https://user:secret@example.com/ada.png' });
      expect(credentials.status).toBe(400);
      expect(problemOf(credentials.html, 'picture')).toMatch(/no user name or password/);
      const breaks = await browser.navigate(url(app, '/account/profile'), { csrf: csrfOf(page.html), name: 'Ada\r\nBcc: someone' });
      expect(problemOf(breaks.html, 'name')).toMatch(/line breaks/);
      // NUL never reaches a route: a 400 for the field, before anything is read.
      const nul = await browser.request(url(app, '/account/profile'), { form: { csrf: csrfOf(page.html), name: 'Ada\u0000' } });
      expect(nul.status).toBe(400);
      expect(await nul.text()).toContain('request.invalid_characters');

      const after = await accountOf(ada);
      expect(after).toMatchObject({ name: before.name, givenName: before.givenName, familyName: before.familyName, picture: before.picture, locale: before.locale });
      expect(after.updatedAt.getTime()).toBe(before.updatedAt.getTime());
    });

    it('refuses a form without the session\'s CSRF token', async () => {
      const { browser } = await openConsole(app, { email: ada }, '/account/profile');
      const forged = await browser.request(url(app, '/account/profile'), { form: { csrf: 'x'.repeat(43), name: 'Mallory' } });
      expect(forged.status).toBe(403);
      expect((await accountOf(ada)).name).not.toBe('Mallory');
    });
  });

  describe('changing the email address', () => {
    const grace = 'grace@example.com';
    const graceNew = 'grace.hopper@example.org';
    let link = '';

    beforeAll(async () => {
      await seedPerson(app, grace);
    });

    it('refuses a malformed address and the account\'s own, by the field', async () => {
      const { browser } = await openConsole(app, { email: grace }, '/account/email');
      const form = await browser.navigate(url(app, '/account/email'));
      expect(form.html).toContain('<label for="new-email">');
      const malformed = await browser.navigate(url(app, '/account/email'), { csrf: csrfOf(form.html), email: 'not an address' });
      expect(malformed.status).toBe(400);
      expect(malformed.html).toMatch(/<p class="alert" role="alert" id="email-problem">Enter a valid email address/);
      expect(malformed.html).toContain('aria-invalid="true"');
      const same = await browser.navigate(url(app, '/account/email'), { csrf: csrfOf(form.html), email: ' Grace@Example.com ' });
      expect(same.status).toBe(400);
      expect(same.html).toContain('This is already your email address.');
    });

    it('mails a link to the new address and changes nothing until it is used; the confirmation page changes nothing either', async () => {
      const { browser, page } = await openConsole(app, { email: grace }, '/account/email');
      const sent = await browser.navigate(url(app, '/account/email'), { csrf: csrfOf(page.html), email: graceNew });
      expect(sent.status).toBe(200);
      expect(sent.html).toContain('Check your new inbox');
      expect(sent.html).toContain(graceNew);
      const mail = await smtp.waitFor((message) => message.to.includes(graceNew));
      expect(mail.subject).toBe('Confirm your new email address');
      link = mail.links.find((href) => href.startsWith(`${app.issuer}/account/email/confirm?`))!;
      expect(new URL(link).searchParams.get('token')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(new URL(link).searchParams.get('lang')).toBe('en');
      await app.deps.background.drain();
      const account = await accountOf(grace);
      expect(account.email).toBe(grace);
      expect((await auditEvents(app, account.id, 'email.change_requested')).at(-1)).toMatchObject({ reason: 'account_console', details: { to: graceNew } });

      const confirm = await browser.navigate(link);
      expect(confirm.status).toBe(200);
      expect(confirm.html).toContain(`From now on you sign in as ${graceNew} instead of ${grace}.`);
      expect(confirm.html).toContain('action="/account/email/confirm"');
      expect((await accountOf(grace)).email).toBe(grace);
    });

    it('is not valid for another account signed in, and asks a signed-out browser to sign in first', async () => {
      const { page: other } = await openConsole(app, { email: ada }, new URL(link).pathname + new URL(link).search);
      expect(other.status).toBe(400);
      expect(other.html).toContain('This link has expired or was already used');
      // A browser without a console session signs in as Grace and comes back to the confirmation.
      const elsewhere = new Browser();
      const back = await throughSignIn(elsewhere, app, await elsewhere.navigate(link), { email: grace });
      expect(back.sawLogin).toBe(true);
      expect(back.url).toBe(link);
      expect(back.html).toContain('action="/account/email/confirm"');
    });

    it('replaces the address when the link is used, verified; the old address is told, and the link works once', async () => {
      const { browser, page } = await openConsole(app, { email: grace }, new URL(link).pathname + new URL(link).search);
      const token = new URL(link).searchParams.get('token')!;
      const forged = await browser.request(url(app, '/account/email/confirm'), { form: { csrf: 'x'.repeat(43), token } });
      expect(forged.status).toBe(403);
      const done = await browser.request(url(app, '/account/email/confirm'), { form: { csrf: csrfOf(page.html), token } });
      expect(done.status).toBe(303);
      expect(done.headers.get('location')).toBe('/account/profile?done=email_changed');
      const account = await accountOf(graceNew);
      expect(account).toMatchObject({ email: graceNew, emailVerified: true });
      expect(await app.deps.accounts.findByEmail(grace)).toBeNull();
      expect((await app.deps.accounts.claims(account.id))).toMatchObject({ email: graceNew, email_verified: true });

      const notice = await smtp.waitFor((message) => message.to.includes(grace) && message.subject === 'Your sign-in email address was changed');
      expect(notice.text).toContain(graceNew);
      expect(notice.text).toMatch(/contact your administrator/);
      expect(notice.links).toEqual([]);
      expect((await auditEvents(app, account.id, 'email.changed')).at(-1)).toMatchObject({ reason: 'account_console', details: { from: grace, to: graceNew } });

      const again = await browser.navigate(url(app, '/account/email/confirm'), { csrf: csrfOf(page.html), token });
      expect(again.status).toBe(400);
      // The new address signs in; the old one no longer does.
      expect((await openConsole(app, { email: graceNew }, '/account/profile')).page.html).toContain(graceNew);
      expect(await app.deps.accounts.authenticate(grace, PASSWORD)).toBeNull();
    });

    it('answers a taken address exactly as a free one, mails the owner that someone tried, and changes nothing', async () => {
      const { browser, page } = await openConsole(app, { email: graceNew }, '/account/email');
      const account = await accountOf(graceNew);
      const taken = await browser.navigate(url(app, '/account/email'), { csrf: csrfOf(page.html), email: ada });
      const free = await browser.navigate(url(app, '/account/email'), { csrf: csrfOf(page.html), email: 'grace.free@example.org' });
      expect(taken.status).toBe(free.status);
      expect(taken.html.replaceAll(ada, 'ADDRESS')).toBe(free.html.replaceAll('grace.free@example.org', 'ADDRESS'));
      await app.deps.background.drain();

      const attempt = await smtp.waitFor((message) => message.to.includes(ada) && message.subject === 'Someone tried to use your email address');
      expect(attempt.text).toMatch(/nothing was changed/);
      expect(attempt.links.some((href) => href.includes('/account/email/confirm'))).toBe(false);
      await smtp.waitFor((message) => message.to.includes('grace.free@example.org'));
      // No link exists for the taken address, and both accounts are as they were.
      const { rows } = await app.deps.db.query<{ email: string }>("SELECT email FROM account_tokens WHERE account_id = $1 AND purpose = 'change_email' AND used_at IS NULL", [account.id]);
      expect(rows.map((row) => row.email)).toEqual(['grace.free@example.org']);
      expect((await accountOf(graceNew)).id).toBe(account.id);
      expect((await accountOf(ada)).email).toBe(ada);
      // The asking account's events do not tell the two apart; the owner's records the attempt.
      const requested = await auditEvents(app, account.id, 'email.change_requested');
      expect(requested.slice(-2).map((event) => Object.keys(event.details ?? {}))).toEqual([['to'], ['to']]);
      expect((await auditEvents(app, (await accountOf(ada)).id, 'email.change_attempted')).at(-1)).toMatchObject({ reason: 'email_taken', details: { requestedBy: account.id } });
    });

    it('changes nothing when the address was taken between the mail and the click', async () => {
      const { browser, page } = await openConsole(app, { email: graceNew }, '/account/email');
      await browser.navigate(url(app, '/account/email'), { csrf: csrfOf(page.html), email: 'race@example.net' });
      const mail = await smtp.waitFor((message) => message.to.includes('race@example.net'));
      const raced = mail.links.find((href) => href.includes('/account/email/confirm?'))!;
      await app.deps.accounts.create({ email: 'race@example.net', password: PASSWORD });
      const confirm = await browser.navigate(raced);
      const lost = await browser.navigate(url(app, '/account/email/confirm'), { csrf: csrfOf(confirm.html), token: new URL(raced).searchParams.get('token')! });
      expect(lost.status).toBe(409);
      expect(lost.html).toContain('race@example.net now belongs to another account');
      expect((await accountOf(graceNew)).email).toBe(graceNew);
      expect(await auditEvents(app, (await accountOf(graceNew)).id, 'email.changed')).toHaveLength(1);
    });

    it('limits how often one address is mailed', async () => {
      const { browser, page } = await openConsole(app, { email: graceNew }, '/account/email');
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await browser.request(url(app, '/account/email'), { form: { csrf: csrfOf(page.html), email: 'flood@example.net' } })).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
    });

    it('needs a recent sign-in: a stale one signs in again before anything is mailed, and comes back to the form', async () => {
      const { browser, page } = await openConsole(app, { email: graceNew }, '/account/email');
      clock.advance(301_000);
      const stale = await browser.request(url(app, '/account/email'), { form: { csrf: csrfOf(page.html), email: 'late@example.net' } });
      expect(stale.status).toBe(303);
      const auth = new URL(stale.headers.get('location')!);
      expect(auth.searchParams.get('max_age')).toBe('0');
      await app.deps.background.drain();
      // Nothing was asked for: no link, no event, no mail.
      const { rows } = await app.deps.db.query("SELECT 1 FROM account_tokens WHERE purpose = 'change_email' AND email = 'late@example.net'");
      expect(rows).toEqual([]);
      const requested = await auditEvents(app, (await accountOf(graceNew)).id, 'email.change_requested');
      expect(requested.some((event) => event.details?.to === 'late@example.net')).toBe(false);
      expect(smtp.messages.some((message) => message.to.includes('late@example.net'))).toBe(false);
      const back = await throughSignIn(browser, app, await browser.navigate(auth.href), { email: graceNew });
      expect(back.sawLogin).toBe(true);
      expect(back.url).toBe(url(app, '/account/email'));
      expect((await browser.request(url(app, '/account/email'))).status).toBe(200);
    });
  });

  describe('the password', () => {
    const pat = 'pat@example.com';
    let patId = '';

    beforeAll(async () => {
      patId = (await seedPerson(app, pat)).id;
    });

    it('refuses a wrong current password, and counts it toward the sign-in lockout', async () => {
      const lee = 'lee@example.com';
      const leeId = (await seedPerson(app, lee)).id;
      const { browser, page } = await openConsole(app, { email: lee }, '/account/password');
      expect(page.html).toContain('<label for="current-password">');
      const wrong = await browser.navigate(url(app, '/account/password'), { csrf: csrfOf(page.html), current: 'not my password', password: NEW_PASSWORD });
      expect(wrong.status).toBe(400);
      expect(wrong.html).toContain('That is not your current password.');
      expect(wrong.html).toMatch(/id="current-password"[^>]*aria-invalid="true"/);
      expect((await auditEvents(app, leeId, 'login.failed')).at(-1)).toMatchObject({ reason: 'bad_password', details: { step: 'password_change' } });
      const missing = await browser.navigate(url(app, '/account/password'), { csrf: csrfOf(page.html), current: '', password: NEW_PASSWORD });
      expect(missing.html).toContain('Enter your current password.');
      for (let i = 0; i < 2; i++) await browser.navigate(url(app, '/account/password'), { csrf: csrfOf(page.html), current: `guess ${i}`, password: NEW_PASSWORD });
      expect(await auditEvents(app, leeId, 'account.locked')).toHaveLength(1);
      // Locked: even the right current password is refused here, and the sign-in is locked too.
      const right = await browser.navigate(url(app, '/account/password'), { csrf: csrfOf(page.html), current: PASSWORD, password: NEW_PASSWORD });
      expect(right.status).toBe(400);
      expect(await app.deps.accounts.authenticate(lee, PASSWORD)).not.toBeNull();
      expect((await app.deps.signIn.signIn(lee, PASSWORD, { ip: '127.0.0.1' })).ok).toBe(false);
      expect(await auditEvents(app, leeId, 'password.changed')).toHaveLength(0);
    });

    it('refuses a new password the policy refuses, saying why', async () => {
      const { browser, page } = await openConsole(app, { email: pat }, '/account/password');
      const short = await browser.navigate(url(app, '/account/password'), { csrf: csrfOf(page.html), current: PASSWORD, password: 'short' });
      expect(short.status).toBe(400);
      expect(short.html).toContain(`Use at least ${app.deps.accounts.passwordPolicy.minLength} characters.`);
      expect(short.html).toMatch(/id="new-password"[^>]*aria-invalid="true"/);
      const common = await browser.navigate(url(app, '/account/password'), { csrf: csrfOf(page.html), current: PASSWORD, password: 'password1' });
      expect(common.html).toContain('one of the most common passwords');
      const itself = await browser.navigate(url(app, '/account/password'), { csrf: csrfOf(page.html), current: PASSWORD, password: pat });
      expect(itself.html).toContain('must not be your email address');
      expect(await app.deps.accounts.authenticate(pat, PASSWORD)).not.toBeNull();
    });

    it('changes it and, when asked, signs every other device out and keeps this one; a notice is mailed', async () => {
      // Another device, with an application holding a refresh token.
      const other = new Browser();
      const elsewhere = await signInToRp(other, pat, PASSWORD, { offline: true });
      expect(elsewhere.refresh_token).toBeTruthy();
      // This device: the application, then the console.
      const here = new Browser();
      const local = await signInToRp(here, pat);
      const { page } = await openConsole(app, { email: pat }, '/account/password', here);
      expect(page.html).toMatch(/id="sign-out-others"[^>]*checked/);
      expect((await app.deps.accountState.listSessions(patId)).length).toBeGreaterThanOrEqual(2);

      const forged = await here.request(url(app, '/account/password'), { form: { csrf: 'x'.repeat(43), current: PASSWORD, password: NEW_PASSWORD, sign_out_others: 'yes' } });
      expect(forged.status).toBe(403);
      const changed = await here.request(url(app, '/account/password'), { form: { csrf: csrfOf(page.html), current: PASSWORD, password: NEW_PASSWORD, sign_out_others: 'yes' } });
      expect(changed.status).toBe(303);
      expect(changed.headers.get('location')).toBe('/account/profile?done=password_changed');
      expect(await app.deps.accounts.authenticate(pat, PASSWORD)).toBeNull();
      expect(await app.deps.accounts.authenticate(pat, NEW_PASSWORD)).not.toBeNull();

      // The other device is out: its session is gone and its application's tokens no longer work.
      const sessions = await app.deps.accountState.listSessions(patId);
      expect(sessions).toHaveLength(1);
      await expect(client.refreshTokenGrant(rp.config, elsewhere.refresh_token!)).rejects.toThrow();
      await expect(client.fetchUserInfo(rp.config, elsewhere.access_token, elsewhere.claims()!.sub)).rejects.toThrow();
      // This one stays: the console, and the application signed in through this browser.
      expect((await here.navigate(url(app, '/account/profile?done=password_changed'))).html).toContain('Your password was changed.');
      expect(await client.fetchUserInfo(rp.config, local.access_token, local.claims()!.sub)).toMatchObject({ sub: patId });

      const notice = await smtp.waitFor((message) => message.to.includes(pat) && message.subject === 'Your password was changed');
      expect(notice.text).toMatch(/Every other session was signed out/);
      expect((await auditEvents(app, patId, 'password.changed')).at(-1)).toMatchObject({ reason: 'account_console', details: { set: false, signOutOthers: true } });
    });

    it('changes it without signing anyone out when not asked, and says so in the notice', async () => {
      const sam = 'sam@example.com';
      const samId = (await seedPerson(app, sam)).id;
      const other = new Browser();
      const elsewhere = await signInToRp(other, sam);
      const { browser, page } = await openConsole(app, { email: sam }, '/account/password');
      const sessions = (await app.deps.accountState.listSessions(samId)).length;
      expect(sessions).toBe(2);
      const changed = await browser.request(url(app, '/account/password'), { form: { csrf: csrfOf(page.html), current: PASSWORD, password: NEW_PASSWORD } });
      expect(changed.status).toBe(303);
      expect((await app.deps.accountState.listSessions(samId)).length).toBe(sessions);
      expect(await client.fetchUserInfo(rp.config, elsewhere.access_token, samId)).toMatchObject({ sub: samId });
      const notice = await smtp.waitFor((message) => message.to.includes(sam));
      expect(notice.text).toMatch(/already signed in stay signed in/);
      expect((await auditEvents(app, samId, 'password.changed')).at(-1)).toMatchObject({ details: { set: false, signOutOthers: false } });
    });

    it('needs a recent sign-in, and comes back to the form after signing in again', async () => {
      const kim = 'kim@example.com';
      await seedPerson(app, kim);
      const { browser } = await openConsole(app, { email: kim }, '/account/profile');
      clock.advance(301_000);
      const profile = await browser.navigate(url(app, '/account/profile'));
      expect(profile.html).toContain('id="reauth-hint"');
      const stale = await browser.request(url(app, '/account/password'));
      expect(stale.status).toBe(303);
      expect(new URL(stale.headers.get('location')!).searchParams.get('prompt')).toBe('login');
      const post = await browser.request(url(app, '/account/password'), { form: { csrf: csrfOf(profile.html), current: PASSWORD, password: NEW_PASSWORD } });
      expect(post.status).toBe(303);
      const again = new URL(post.headers.get('location')!);
      expect(again.searchParams.get('max_age')).toBe('0');
      expect(await app.deps.accounts.authenticate(kim, PASSWORD)).not.toBeNull();
      const back = await throughSignIn(browser, app, await browser.navigate(again.href), { email: kim });
      expect(back.sawLogin).toBe(true);
      expect(back.url).toBe(url(app, '/account/password'));
      expect(back.html).toContain('name="current"');
    });

    it('lets an account made through an upstream set a first password, without a current one', async () => {
      google.person = { sub: 'g-profile-1', email: 'ida@gmail.test', email_verified: true, name: 'Ida' };
      const browser = new Browser();
      const signed = await pressUpstreamButton(app, rp.config, browser, 'google');
      const claims = (await redeem(rp.config, await allowIfAsked(app, browser, signed.step), signed.request)).claims()!;
      expect((await app.deps.accounts.findById(claims.sub))!.passwordHash).toBeNull();

      const { page: profile } = await openConsole(app, { email: 'ida@gmail.test' }, '/account/profile', browser);
      expect(profile.sawLogin).toBe(false);
      expect(profile.html).toContain('Set a password');
      const form = await browser.navigate(url(app, '/account/password'));
      expect(form.html).toContain('Set a password');
      expect(form.html).not.toContain('name="current"');
      const weak = await browser.navigate(url(app, '/account/password'), { csrf: csrfOf(form.html), password: 'short' });
      expect(weak.status).toBe(400);
      const set = await browser.request(url(app, '/account/password'), { form: { csrf: csrfOf(form.html), password: NEW_PASSWORD } });
      expect(set.status, mainOf(await set.clone().text())).toBe(303);
      expect(set.headers.get('location')).toBe('/account/profile?done=password_set');
      expect(await app.deps.accounts.authenticate('ida@gmail.test', NEW_PASSWORD)).not.toBeNull();
      const notice = await smtp.waitFor((message) => message.to.includes('ida@gmail.test') && message.subject === 'A password was set for your account');
      expect(notice.text).toMatch(/also sign in with your email address and this password/);
      expect((await auditEvents(app, claims.sub, 'password.changed')).at(-1)).toMatchObject({ details: { set: true, signOutOthers: false } });
      // Now it has one, the form asks for it; a "set" sent from a stale form changes nothing.
      const stale = await browser.navigate(url(app, '/account/password'), { csrf: csrfOf(form.html), password: 'someone else’s passphrase' });
      expect(stale.status).toBe(400);
      expect(stale.html).toContain('Enter your current password.');
      expect(await app.deps.accounts.authenticate('ida@gmail.test', NEW_PASSWORD)).not.toBeNull();
    });
  });
});
