import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser } from '../helpers/browser.ts';
import { startSmtpServer } from '../helpers/smtp.ts';
import { open, openLoginPage, submit } from '../helpers/self-service.ts';
import { csrfOf, openConsole, url } from '../account/console.ts';
import { sessionsOf } from '../account/devices.ts';
import { Receiver } from './receiver.ts';
import { auditOf, expectLogoutOf, FAST_RETRIES, queueDrained, registerClient, seedPerson, signIn, type RelyingParty } from './relying-party.ts';

/*
 * Back-channel logout when the person ends a session themselves: from the account console (one
 * device, or every other one) and by resetting their password (every session).
 */
describe('back-channel logout when a person signs a session out', () => {
  let app: TestApp;
  let receiver: Receiver;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let first: RelyingParty;
  let second: RelyingParty;

  beforeAll(async () => {
    receiver = await Receiver.start();
    smtp = await startSmtpServer();
    app = await startTestApp({ ...FAST_RETRIES, SMTP_URL: smtp.url });
    first = await registerClient(app, 'first-app', receiver.url('/first'));
    second = await registerClient(app, 'second-app', receiver.url('/second'));
  });
  afterAll(async () => {
    await app?.close();
    await receiver?.close();
    await smtp?.close();
  });

  it('the account console signs out another device: each application of that session gets its logout token', async () => {
    const email = 'ada@example.com';
    const adaId = await seedPerson(app, email);
    const phone = new Browser();
    const firstId = await signIn(phone, first, email);
    const secondId = await signIn(phone, second, email);
    const { browser, page } = await openConsole(app, { email }, '/account/sessions');
    const other = sessionsOf(page.html).find((session) => !session.current)!;
    const answer = await browser.request(url(app, `/account/sessions/${other.uid}/end`), { form: { csrf: csrfOf(page.html) } });
    expect(answer.status).toBe(303);
    await expectLogoutOf(app, await receiver.waitFor('/first'), 'first-app', firstId);
    await expectLogoutOf(app, await receiver.waitFor('/second'), 'second-app', secondId);
    expect((await auditOf(app, adaId, 'session.revoked')).at(-1)?.details).toMatchObject({ sessionUid: other.uid, clients: ['first-app', 'second-app'] });
  });

  it('"sign out other devices" sends one token per session, each with that session\'s sid', async () => {
    const email = 'bea@example.com';
    await seedPerson(app, email);
    const before = receiver.tokensAt('/first').length;
    const ids = [await signIn(new Browser(), first, email), await signIn(new Browser(), first, email)];
    const { browser, page } = await openConsole(app, { email }, '/account/sessions');
    const answer = await browser.request(url(app, '/account/sessions/end-others'), { form: { csrf: csrfOf(page.html) } });
    expect(answer.status).toBe(303);
    const tokens = (await receiver.waitFor('/first', before + 2)).slice(before);
    const sids = [];
    for (const token of tokens) sids.push((await expectLogoutOf(app, [token], 'first-app', { sub: ids[0]!.sub, sid: expect.any(String) })).sid);
    expect(sids.sort()).toEqual(ids.map((id) => id.sid).sort());
  });

  it('a password change that signs out the other devices logs their applications out, not this device\'s', async () => {
    const email = 'dora@example.com';
    await seedPerson(app, email);
    const otherId = await signIn(new Browser(), first, email);
    const here = new Browser();
    await signIn(here, second, email);
    const before = { first: receiver.tokensAt('/first').length, second: receiver.tokensAt('/second').length };
    const { page } = await openConsole(app, { email }, '/account/password', here);
    const changed = await here.request(url(app, '/account/password'), { form: { csrf: csrfOf(page.html), current: 'correct horse battery staple', password: 'violet engine harbour 8', sign_out_others: 'yes' } });
    expect(changed.status).toBe(303);
    await expectLogoutOf(app, (await receiver.waitFor('/first', before.first + 1)).slice(before.first), 'first-app', otherId);
    await queueDrained(app);
    // The application signed in through this browser stays signed in.
    expect(receiver.tokensAt('/second')).toHaveLength(before.second);
  });

  it('a password reset ends every session, and each application hears of it', async () => {
    const email = 'cleo@example.com';
    await seedPerson(app, email);
    const laptop = new Browser();
    const firstId = await signIn(laptop, first, email);
    const secondId = await signIn(new Browser(), second, email);
    const before = { first: receiver.tokensAt('/first').length, second: receiver.tokensAt('/second').length };

    const login = await openLoginPage(first.config);
    const form = await open(login.browser, app, `/interaction/${login.uid}/forgot`);
    const count = smtp.messages.length;
    expect((await submit(login.browser, app, form.html, '/forgot', { email })).html).toContain('Check your email');
    const mail = await smtp.waitFor((message) => message.to.includes(email) && smtp.messages.indexOf(message) >= count);
    const link = mail.links.find((href) => href.startsWith(`${app.issuer}/account/reset-password?token=`))!;
    const resetter = new Browser();
    const reset = await resetter.navigate(link);
    expect((await submit(resetter, app, reset.html, '/account/reset-password', { password: 'harbour lantern seventeen' })).html).toContain('Your password has been changed');

    await expectLogoutOf(app, (await receiver.waitFor('/first', before.first + 1)).slice(before.first), 'first-app', firstId);
    await expectLogoutOf(app, (await receiver.waitFor('/second', before.second + 1)).slice(before.second), 'second-app', secondId);
    await queueDrained(app);
  });
});
