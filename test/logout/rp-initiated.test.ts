import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser } from '../helpers/browser.ts';
import { Receiver } from './receiver.ts';
import { auditOf, auditWhen, expectLogoutOf, FAST_RETRIES, logOutThroughPages, queueDrained, registerClient, seedPerson, signIn, verifyLogoutToken, type RelyingParty } from './relying-party.ts';

/*
 * Back-channel logout (issue 16 §1) on RP-initiated logout: every application the session signed
 * in to, and only those, receives a logout token for its own sid when the person signs out on
 * the provider's page.
 */
describe('back-channel logout on RP-initiated logout', () => {
  let app: TestApp;
  let receiver: Receiver;
  let first: RelyingParty;
  let second: RelyingParty;
  let elsewhere: RelyingParty;
  let quiet: RelyingParty;
  let adaId: string;
  const ada = 'ada@example.com';

  beforeAll(async () => {
    receiver = await Receiver.start();
    app = await startTestApp(FAST_RETRIES);
    adaId = await seedPerson(app, ada);
    first = await registerClient(app, 'first-app', receiver.url('/first'));
    second = await registerClient(app, 'second-app', receiver.url('/second'));
    elsewhere = await registerClient(app, 'elsewhere-app', receiver.url('/elsewhere'));
    quiet = await registerClient(app, 'quiet-app', null);
  });
  afterAll(async () => {
    await app?.close();
    await receiver?.close();
  });

  it('discovery advertises back-channel logout with sessions, and a client can register for it', async () => {
    const metadata = await (await fetch(`${app.issuer}/.well-known/openid-configuration`)).json() as Record<string, unknown>;
    expect(metadata).toMatchObject({ backchannel_logout_supported: true, backchannel_logout_session_supported: true });
    const stored = await app.deps.clients.get('first-app');
    expect(stored.metadata).toMatchObject({ backchannel_logout_uri: receiver.url('/first'), backchannel_logout_session_required: true });
    // The URL rules of every client URL apply: plain http only on loopback.
    await expect(app.deps.clients.create({ id: 'plain-http', redirectUris: ['https://rp.example.com/cb'], metadata: { backchannel_logout_uri: 'http://rp.example.com/bcl' } })).rejects.toThrow(/backchannel_logout_uri/);
  });

  it('sends each application of the session a valid logout token with its own sid, and none to an application signed in elsewhere', async () => {
    const browser = new Browser();
    const firstId = await signIn(browser, first, ada);
    const secondId = await signIn(browser, second, ada);
    await signIn(browser, quiet, ada);
    // Same session, a sid per client (oidc-provider's session.sidFor).
    expect(secondId.sid).not.toBe(firstId.sid);
    // The same person, signed in to a third application in another browser: that session stays.
    const other = new Browser();
    const elsewhereId = await signIn(other, elsewhere, ada);

    await logOutThroughPages(app, browser, 'first-app');
    const firstToken = await expectLogoutOf(app, await receiver.waitFor('/first'), 'first-app', firstId);
    const secondToken = await expectLogoutOf(app, await receiver.waitFor('/second'), 'second-app', secondId);
    expect(firstToken.sub).toBe(adaId);
    expect(secondToken.jti).not.toBe(firstToken.jti);
    // Posted as a form (§2.5).
    expect(receiver.received.every((entry) => entry.contentType === 'application/x-www-form-urlencoded')).toBe(true);

    await queueDrained(app);
    expect(receiver.tokensAt('/elsewhere')).toEqual([]);
    expect((await app.deps.accountState.listSessions(adaId)).map((session) => session.clients)).toEqual([['elsewhere-app']]);
    const delivered = await auditWhen(app, adaId, 'logout.backchannel_delivered', (rows) => rows.length >= 2);
    expect(delivered.map((event) => event.details.clientId).sort()).toEqual(['first-app', 'second-app']);

    // That other session ends the same way, later: only its application hears of it.
    await logOutThroughPages(app, other, 'elsewhere-app');
    await expectLogoutOf(app, await receiver.waitFor('/elsewhere'), 'elsewhere-app', elsewhereId);
    await queueDrained(app);
    expect(receiver.tokensAt('/first')).toHaveLength(1);
    expect(receiver.tokensAt('/second')).toHaveLength(1);
  });

  it('"stay signed in" logs out only the application that asked', async () => {
    const browser = new Browser();
    const before = { first: receiver.tokensAt('/first').length, second: receiver.tokensAt('/second').length };
    const firstId = await signIn(browser, first, ada);
    await signIn(browser, second, ada);
    await logOutThroughPages(app, browser, 'first-app', { everywhere: false });
    const tokens = await receiver.waitFor('/first', before.first + 1);
    const payload = await verifyLogoutToken(app, tokens.at(-1)!, 'first-app');
    expect(payload.sid).toBe(firstId.sid);
    await queueDrained(app);
    expect(receiver.tokensAt('/second')).toHaveLength(before.second);
  });

  it('leaves sid out of the logout token of a client that does not require it, but its ID token still carries one', async () => {
    const loose = await registerClient(app, 'loose-app', receiver.url('/loose'), { sessionRequired: false });
    const browser = new Browser();
    const idToken = await signIn(browser, loose, ada);
    expect(typeof idToken.sid).toBe('string');
    await logOutThroughPages(app, browser, 'loose-app');
    const [token] = await receiver.waitFor('/loose');
    const payload = await verifyLogoutToken(app, token!, 'loose-app');
    expect(payload.sub).toBe(idToken.sub);
    expect(payload).not.toHaveProperty('sid');
  });
});
