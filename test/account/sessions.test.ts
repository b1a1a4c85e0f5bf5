import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import type { Browser } from '../helpers/browser.ts';
import { authorizationRequest, REDIRECT_URI, seedWebClient, signInThroughPages, PASSWORD } from '../helpers/oidc.ts';
import { auditEvents, csrfOf, mainOf, openConsole, seedPerson, url } from './console.ts';
import { BrowserAs, CHROME_ANDROID, failSignIn, FIREFOX_LINUX, SAFARI_IPHONE, sessionsOf, VIVALDI_WINDOWS } from './devices.ts';

/*
 * Sessions and devices (issue 14 §4) and the security page's recent activity (§3), over HTTP on
 * the running provider: every signed-in provider session listed with its browser, address and
 * use, this device marked, one or all others signed out, and nobody reaching another's session.
 */

describe('sessions and devices in the account console', () => {
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;
  let adaId: string;
  let bobId: string;
  const ada = { email: 'ada@example.com' };
  const bob = { email: 'bob@example.com' };

  beforeAll(async () => {
    app = await startTestApp();
    rp = await seedWebClient(app, { email: ada.email });
    adaId = (await app.deps.accounts.findByEmail(ada.email))!.id;
    bobId = (await seedPerson(app, bob.email)).id;
  });
  afterAll(async () => app?.close());

  /** Ada signs in to the web application in a browser of its own; returns its tokens. */
  async function signInToApp(userAgent: string) {
    const browser = new BrowserAs(userAgent);
    const request = await authorizationRequest(rp.config);
    const { callback } = await signInThroughPages(browser, request.url, { email: ada.email, password: PASSWORD });
    expect(callback.startsWith(REDIRECT_URI)).toBe(true);
    const tokens = await client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
    return { browser, tokens };
  }

  const post = (browser: Browser, path: string, csrf: string) => browser.request(url(app, path), { form: { csrf } });

  it('lists every session with its browser, address and the applications in it, this device first and marked', async () => {
    const phone = await signInToApp(CHROME_ANDROID);
    const { browser, page } = await openConsole(app, ada, '/account/sessions', new BrowserAs(FIREFOX_LINUX));
    expect(page.url).toBe(url(app, '/account/sessions'));
    const listed = sessionsOf(page.html);
    expect(listed).toHaveLength(2);
    expect(listed[0]).toMatchObject({ current: true });
    expect(listed[0]!.text).toContain('Firefox 128 on Linux');
    expect(listed[0]!.text).toContain('this device');
    expect(listed[0]!.text).toContain('IP address 127.0.0.1');
    expect(listed[0]!.text).toMatch(/Signed in .+ UTC · last used .+ UTC/);
    expect(listed[1]).toMatchObject({ current: false });
    expect(listed[1]!.text).toContain('Chrome 130 on Android');
    expect(listed[1]!.text).toContain('Apps: Web App');
    // The console is part of the provider, not an application of the person's.
    expect(listed[0]!.text).not.toContain('Apps:');
    expect(page.html).toMatch(/<time datetime="\d{4}-\d\d-\d\dT[^"]+">[^<]+UTC<\/time>/);
    expect(page.html).toContain('action="/account/sessions/end-others"');
    // The ids in the forms are the sessions' uids, never their ids (the session cookie's value).
    const stored = await app.deps.accountState.listSessions(adaId);
    for (const session of stored) expect(page.html).not.toContain(session.id);
    expect(stored.map((session) => session.uid).sort()).toEqual(listed.map((session) => session.uid).sort());
    // The phone's session is the one the web application signed in through.
    expect(stored.find((session) => session.uid === listed[1]!.uid)?.clients).toEqual(['web-app']);
    // Ada's own application is still signed in there.
    expect((await client.refreshTokenGrant(rp.config, phone.tokens.refresh_token!)).access_token).toBeTruthy();
  });

  it('refuses a session of someone else with 404, and changes nothing', async () => {
    const { browser: bobs, page } = await openConsole(app, bob, '/account/sessions', new BrowserAs(SAFARI_IPHONE));
    expect(sessionsOf(page.html)).toHaveLength(1);
    const before = await app.deps.accountState.listSessions(adaId);
    for (const session of before) {
      const answer = await post(bobs, `/account/sessions/${encodeURIComponent(session.uid)}/end`, csrfOf(page.html));
      expect(answer.status).toBe(404);
      expect(await answer.text()).not.toContain(session.uid);
      // Its id (the cookie value) is no better than its uid.
      expect((await post(bobs, `/account/sessions/${encodeURIComponent(session.id)}/end`, csrfOf(page.html))).status).toBe(404);
    }
    expect((await app.deps.accountState.listSessions(adaId)).length).toBe(before.length);
    for (const junk of ['nope', 'x'.repeat(500)]) expect((await post(bobs, `/account/sessions/${junk}/end`, csrfOf(page.html))).status).toBe(404);
    // A NUL never reaches the console: the request is refused before any route (src/http/request-bytes.ts).
    expect((await post(bobs, '/account/sessions/%00/end', csrfOf(page.html))).status).toBe(400);
    expect((await app.deps.accountState.listSessions(bobId)).length).toBe(1);
  });

  it('refuses a sign-out without the page\'s CSRF token', async () => {
    const { browser, page } = await openConsole(app, ada, '/account/sessions', new BrowserAs(FIREFOX_LINUX));
    const other = sessionsOf(page.html).find((session) => !session.current)!;
    expect((await post(browser, `/account/sessions/${other.uid}/end`, 'wrong')).status).toBe(403);
    expect((await browser.request(url(app, '/account/sessions/end-others'), { form: {} })).status).toBe(403);
    expect((await app.deps.accountState.listSessions(adaId)).some((session) => session.uid === other.uid)).toBe(true);
  });

  it('signs out one other session: it ends with the grants it authorized, its refresh token is refused, and it is audited', async () => {
    const known = new Set((await app.deps.accountState.listSessions(adaId)).map((session) => session.uid));
    const phone = await signInToApp(CHROME_ANDROID);
    const phoneUid = (await app.deps.accountState.listSessions(adaId)).find((session) => !known.has(session.uid))!.uid;
    const { browser, page } = await openConsole(app, ada, '/account/sessions', new BrowserAs(FIREFOX_LINUX));
    expect(sessionsOf(page.html).find((session) => session.uid === phoneUid)?.text).toContain('Chrome 130 on Android');
    const before = (await app.deps.accountState.listSessions(adaId)).length;
    const answer = await post(browser, `/account/sessions/${phoneUid}/end`, csrfOf(page.html));
    expect(answer.status).toBe(303);
    expect(answer.headers.get('location')).toBe('/account/sessions?done=ended');
    const after = await app.deps.accountState.listSessions(adaId);
    expect(after.length).toBe(before - 1);
    expect(after.some((session) => session.uid === phoneUid)).toBe(false);
    const listed = await browser.navigate(url(app, '/account/sessions?done=ended'));
    expect(listed.html).toContain('That device was signed out.');
    expect(sessionsOf(listed.html).some((session) => session.uid === phoneUid)).toBe(false);
    // The application signed in there lost its grant: its refresh token is refused.
    await expect(client.refreshTokenGrant(rp.config, phone.tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    const events = await auditEvents(app, adaId, 'session.revoked');
    expect(events.at(-1)).toMatchObject({ reason: 'account_console', ip: '127.0.0.1', user_agent: FIREFOX_LINUX, details: { sessionUid: phoneUid, which: 'one', thisDevice: false, clients: ['web-app'] } });
    expect(events.at(-1)!.details!.sessionUserAgent).toBe(CHROME_ANDROID);
    // Signing out again: nothing left to end.
    expect((await post(browser, `/account/sessions/${phoneUid}/end`, csrfOf(page.html))).status).toBe(404);
  });

  it('signs out everywhere else and keeps this device signed in', async () => {
    await signInToApp(CHROME_ANDROID);
    await signInToApp(SAFARI_IPHONE);
    const { browser, page } = await openConsole(app, ada, '/account/sessions', new BrowserAs(FIREFOX_LINUX));
    const current = sessionsOf(page.html).find((session) => session.current)!;
    expect(sessionsOf(page.html).length).toBeGreaterThanOrEqual(3);
    const answer = await post(browser, '/account/sessions/end-others', csrfOf(page.html));
    expect(answer.status).toBe(303);
    expect(answer.headers.get('location')).toBe('/account/sessions?done=ended_others');
    expect((await app.deps.accountState.listSessions(adaId)).map((session) => session.uid)).toEqual([current.uid]);
    const listed = await browser.navigate(url(app, '/account/sessions?done=ended_others'));
    expect(listed.url).toBe(url(app, '/account/sessions?done=ended_others'));
    expect(sessionsOf(listed.html)).toEqual([expect.objectContaining({ uid: current.uid, current: true })]);
    expect(listed.html).not.toContain('action="/account/sessions/end-others"');
    expect((await auditEvents(app, adaId, 'session.revoked')).filter((event) => event.details?.which === 'all_others').length).toBeGreaterThanOrEqual(2);
    // Bob's session is his own.
    expect((await app.deps.accountState.listSessions(bobId)).length).toBe(1);
  });

  it('signing out this device ends the console session too', async () => {
    const { browser, page } = await openConsole(app, ada, '/account/sessions', new BrowserAs(FIREFOX_LINUX));
    const current = sessionsOf(page.html).find((session) => session.current)!;
    const answer = await browser.navigate(url(app, `/account/sessions/${current.uid}/end`), { csrf: csrfOf(page.html) });
    expect(answer.status).toBe(200);
    expect(mainOf(answer.html)).toContain('Signed out on this device');
    expect((await app.deps.accountState.listSessions(adaId)).some((session) => session.uid === current.uid)).toBe(false);
    // The console asks for a sign-in again: its session ended with the provider's.
    const again = await browser.request(url(app, '/account/sessions'));
    expect(again.status).toBe(303);
    expect(new URL(again.headers.get('location')!).pathname).toBe('/auth');
    expect((await auditEvents(app, adaId, 'session.revoked')).at(-1)?.details).toMatchObject({ sessionUid: current.uid, thisDevice: true });
  });

  it('shows sign-ins and failed sign-ins on the security page with time, address and browser, and only the account\'s own', async () => {
    await failSignIn(new BrowserAs(CHROME_ANDROID), app, ada.email);
    await failSignIn(new BrowserAs(VIVALDI_WINDOWS), app, bob.email);
    const { page } = await openConsole(app, ada, '/account/security', new BrowserAs(FIREFOX_LINUX));
    const activity = page.html.slice(page.html.indexOf('id="activity"'), page.html.indexOf('</ul>', page.html.indexOf('id="activity"')));
    const items = [...activity.matchAll(/<li[^>]*>([\s\S]*?)<\/li>/g)].map((item) => item[0].replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim());
    expect(items[0]).toMatch(/^Signed in .*UTC · Firefox 128 on Linux · IP address 127\.0\.0\.1$/);
    const failed = items.find((item) => item.startsWith('Sign-in failed: wrong password'));
    expect(failed).toContain('Chrome 130 on Android');
    expect(failed).toContain('IP address 127.0.0.1');
    expect(activity).toContain('class="activity-failed"');
    // Changes made here are listed too, in words; Bob's failure (from Vivaldi) is not Ada's.
    expect(items.some((item) => item.startsWith('A device was signed out'))).toBe(true);
    expect(items.join('\n')).not.toContain('Vivaldi');
    expect(items.length).toBeLessThanOrEqual(20);
    expect(activity).toMatch(/<time datetime="[^"]+">/);
  });

  it('counts attempts that name only the address as the account\'s from its creation on', async () => {
    const carol = await seedPerson(app, 'carol@example.com');
    const { db } = app.deps;
    await db.query("INSERT INTO audit_events (occurred_at, event, reason, email, ip, user_agent) VALUES (now() - interval '1 day', 'login.failed', 'unknown_email', 'carol@example.com', '192.0.2.1', $1)", [CHROME_ANDROID]);
    await app.deps.audit.record({ event: 'login.failed', reason: 'locked', email: 'Carol@Example.com', ip: '192.0.2.2', userAgent: SAFARI_IPHONE });
    await app.deps.audit.record({ event: 'mfa.required', accountId: carol.id, email: carol.email, ip: '192.0.2.3' });
    const shown = await app.deps.accountActivity.recent(carol);
    expect(shown.map((event) => [event.event, event.ip])).toEqual([['login.failed', '192.0.2.2']]);
    const { page } = await openConsole(app, { email: carol.email }, '/account/security', new BrowserAs(FIREFOX_LINUX));
    expect(page.html).toContain('Sign-in failed: too many failed attempts, locked for a while');
    expect(page.html).not.toContain('192.0.2.1');
    // A second step asked for is part of the sign-in that follows it, not an event of its own.
    expect(page.html).not.toContain('192.0.2.3');
  });
});
