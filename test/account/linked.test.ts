import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { testClock } from '../helpers/clock.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { seedWebClient } from '../helpers/oidc.ts';
import { startFakeOidcUpstream, type FakeOidcUpstream } from '../helpers/fake-oidc-upstream.ts';
import { allowIfAsked, identitiesOf, pressUpstreamButton, redeem } from '../helpers/federation.ts';
import { createAccountLinks } from '../../src/federation/account-links.ts';
import { auditEvents, codeAt, csrfOf, mainOf, openConsole, seedPerson, throughSignIn, url, type Page } from './console.ts';

/*
 * Linked accounts in the account console, over real HTTP without JavaScript, against a fake
 * Google and a second OIDC upstream on loopback: link through the upstream's own sign-in (the
 * one registered redirect URI, relayed to the console), the rules that refuse a link, unlink
 * unless it is the last way to sign in, and a recent sign-in for both.
 */

/** Signs in to the console with the upstream's button on the login page (an account without a password). */
async function openConsoleWith(app: TestApp, upstreamId: string, path: string, browser = new Browser()): Promise<{ browser: Browser; page: Page }> {
  const login = await browser.navigate(url(app, path));
  const form = readForm(login.html, `/federation/${upstreamId}`);
  const page = await browser.navigate(url(app, form.action), form.fields);
  return { browser, page };
}

/** Presses "Link <upstream>" on the linked-accounts page and follows everything back to the console. */
async function pressLink(app: TestApp, browser: Browser, page: Page, upstreamId: string): Promise<Page> {
  const form = readForm(page.html, `/account/linked/${upstreamId}/link`);
  return browser.navigate(url(app, form.action), form.fields);
}

/** Up to the upstream's answer: the URL of our redirect URI with its code and state, not yet visited. */
async function answerFromUpstream(app: TestApp, browser: Browser, page: Page, upstreamId: string): Promise<string> {
  const form = readForm(page.html, `/account/linked/${upstreamId}/link`);
  const started = await browser.request(url(app, form.action), { form: form.fields });
  expect(started.status).toBe(303);
  const authorize = await fetch(started.headers.get('location')!, { redirect: 'manual' });
  return authorize.headers.get('location')!;
}

describe('linked accounts in the account console', () => {
  const clock = testClock(Date.UTC(2026, 5, 10, 9, 0, 0));
  let google: FakeOidcUpstream;
  let corp: FakeOidcUpstream;
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;
  let ada: { id: string; email: string };
  let grace: { id: string; email: string };

  beforeAll(async () => {
    google = await startFakeOidcUpstream();
    corp = await startFakeOidcUpstream({ clientId: 'corp-client' });
    app = await startTestApp({ ...google.env('google'), ...corp.env('corp', 'oidc'), UPSTREAM_CORP_DISPLAY_NAME: 'Corp SSO' }, { clock });
    rp = await seedWebClient(app, { email: 'rp.owner@example.com' });
    ada = await seedPerson(app, 'ada@example.com');
    grace = await seedPerson(app, 'grace@example.com');
  });
  afterAll(async () => {
    await app?.close();
    await google?.close();
    await corp?.close();
  });

  it('links a Google account to the signed-in account, whatever email Google has, through the one registered redirect URI', async () => {
    const { browser, page } = await openConsole(app, { email: ada.email }, '/account/linked');
    expect(page.url).toBe(url(app, '/account/linked'));
    expect(page.html).toContain('No accounts are linked yet.');
    expect(page.html).toContain('action="/account/linked/google/link"');
    expect(page.html).toContain('action="/account/linked/corp/link"');
    expect(page.html).toContain('Link Corp SSO');
    expect(page.html).toContain('aria-current="page"');

    // Unverified, and not the account's address: the person proved both sides, so it decides nothing.
    google.person = { sub: 'ada-google', email: 'ada.l@gmail.test', email_verified: false, name: 'Ada at Google' };
    const linked = await pressLink(app, browser, page, 'google');
    expect(linked.url, mainOf(linked.html)).toBe(url(app, '/account/linked?done=linked'));
    expect(linked.html).toContain('role="status"');
    expect(linked.html).toContain('ada.l@gmail.test');
    expect(linked.html).toContain('href="/account/linked/google/unlink"');
    expect(linked.html).not.toContain('action="/account/linked/google/link"');

    const sent = google.authorizeRequests.at(-1)!;
    expect(sent.get('redirect_uri')).toBe(`${app.issuer}/federation/google/callback`);
    expect(sent.get('state')).toMatch(/^account\.[A-Za-z0-9_-]{43}$/);
    expect(sent.get('code_challenge_method')).toBe('S256');
    expect(sent.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);

    expect(await identitiesOf(app, ada.id)).toMatchObject([{ upstream_id: 'google', subject: 'ada-google', email: 'ada.l@gmail.test' }]);
    expect(await app.deps.accounts.findById(ada.id)).toMatchObject({ email: 'ada@example.com', emailVerified: true });
    const [event] = await auditEvents(app, ada.id, 'federation.linked');
    expect(event).toMatchObject({ reason: 'account_console', ip: expect.any(String), user_agent: expect.any(String), details: { upstream: 'google', actor: 'self' } });

    // The link signs in: Google's button at an application now reaches Ada's account.
    const next = new Browser();
    const { request, step } = await pressUpstreamButton(app, rp.config, next, 'google');
    const tokens = await redeem(rp.config, await allowIfAsked(app, next, step), request);
    expect(tokens.claims()!.sub).toBe(ada.id);
  });

  it('refuses a Google account linked to another account, and a second Google account, and links nothing', async () => {
    await app.deps.accountLinks.link(grace, 'google', { subject: 'grace-google', email: 'grace@gmail.test', emailVerified: true }, { via: 'test', ip: '127.0.0.1' });
    const linus = await seedPerson(app, 'linus@example.com');
    const { browser, page } = await openConsole(app, { email: linus.email }, '/account/linked');
    google.person = { sub: 'grace-google', email: 'grace@gmail.test', email_verified: true };
    const refused = await pressLink(app, browser, page, 'google');
    expect(refused.status).toBe(409);
    expect(refused.html).toContain('role="alert"');
    expect(refused.html).toContain('This Google account is already linked to another account here');
    expect(await identitiesOf(app, linus.id)).toEqual([]);
    expect(await identitiesOf(app, grace.id)).toMatchObject([{ upstream_id: 'google', subject: 'grace-google' }]);
    expect(await auditEvents(app, linus.id, 'federation.linked')).toEqual([]);

    // Ada has a Google account linked: a page from before that offers the button again is refused before Google is asked.
    const { browser: adas, page: adaPage } = await openConsole(app, { email: ada.email }, '/account/linked');
    const asked = google.authorizeRequests.length;
    const stale = await adas.navigate(url(app, '/account/linked/google/link'), { csrf: csrfOf(adaPage.html) });
    expect(stale.status).toBe(409);
    expect(stale.html).toContain('Your account already has a Google account linked');
    expect(google.authorizeRequests.length).toBe(asked);
    // And a second Google account reaching the callback anyway is refused by the rule itself.
    expect(await app.deps.accountLinks.link(ada, 'google', { subject: 'ada-second', email: null, emailVerified: false }, { via: 'test', ip: '127.0.0.1' })).toEqual({ type: 'refused', reason: 'upstream_taken' });
  });

  it("finishes a link only in the session and browser that started it, once, and says so otherwise", async () => {
    const hopper = await seedPerson(app, 'hopper@example.com');
    const mine = await openConsole(app, { email: hopper.email }, '/account/linked');
    google.person = { sub: 'hopper-google', email: 'hopper@gmail.test', email_verified: true };
    const answer = await answerFromUpstream(app, mine.browser, mine.page, 'google');
    expect(answer.startsWith(`${app.issuer}/federation/google/callback?`)).toBe(true);

    // Someone else's signed-in browser receives the answer (a forged link): nothing is linked to them.
    const theirs = await openConsole(app, { email: grace.email }, '/account/linked');
    const elsewhere = await theirs.browser.navigate(answer);
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.html).toContain('was started in another browser');
    expect(await identitiesOf(app, grace.id)).toMatchObject([{ subject: 'grace-google' }]);
    // The attempt was used up there: the right browser cannot replay it either.
    const replay = await mine.browser.navigate(answer);
    expect(replay.status).toBe(400);
    expect(await identitiesOf(app, hopper.id)).toEqual([]);

    // A made-up state of the console's shape, and an upstream that is not configured.
    const forged = await mine.browser.navigate(url(app, `/federation/google/callback?state=account.${randomBytes(32).toString('base64url')}&code=x`));
    expect(forged.status).toBe(400);
    expect((await mine.browser.request(url(app, '/account/linked/nope/link'), { form: { csrf: csrfOf(mine.page.html) } })).status).toBe(404);
    expect((await mine.browser.navigate(url(app, '/account/linked/nope/callback?state=x'))).status).toBe(404);

    // Cancelled at Google.
    google.faults.authorizeError = 'access_denied';
    try {
      const cancelled = await pressLink(app, mine.browser, mine.page, 'google');
      expect(cancelled.status).toBe(400);
      expect(cancelled.html).toContain('Linking with Google was cancelled');
    } finally {
      google.faults = {};
    }
    // A POST without the session's CSRF token.
    expect((await mine.browser.request(url(app, '/account/linked/google/link'), { form: { csrf: 'forged' } })).status).toBe(403);
    expect(await identitiesOf(app, hopper.id)).toEqual([]);
  });

  it('asks for a fresh sign-in before linking and unlinking, and comes back to the page', async () => {
    const { browser, page } = await openConsole(app, { email: ada.email }, '/account/linked');
    clock.advance(301_000);
    const hint = await browser.navigate(url(app, '/account/linked'));
    expect(hint.html).toContain('id="reauth-hint"');
    const asked = corp.authorizeRequests.length;
    const link = await browser.request(url(app, '/account/linked/corp/link'), { form: { csrf: csrfOf(page.html) } });
    expect(link.status).toBe(303);
    const auth = new URL(link.headers.get('location')!);
    expect(auth.searchParams.get('max_age')).toBe('0');
    expect(auth.searchParams.get('prompt')).toBe('login');
    expect(corp.authorizeRequests.length).toBe(asked);

    const unlinkPage = await browser.request(url(app, '/account/linked/google/unlink'));
    expect(unlinkPage.status).toBe(303);
    expect(new URL(unlinkPage.headers.get('location')!).searchParams.get('max_age')).toBe('0');
    const unlinkPost = await browser.request(url(app, '/account/linked/google/unlink'), { form: { csrf: csrfOf(page.html) } });
    expect(unlinkPost.status).toBe(303);
    expect(await identitiesOf(app, ada.id)).toHaveLength(1);

    const back = await throughSignIn(browser, app, await browser.navigate(auth.href), { email: ada.email });
    expect(back.sawLogin).toBe(true);
    expect(back.url).toBe(url(app, '/account/linked'));
    expect(back.html).not.toContain('id="reauth-hint"');
  });

  it('unlinks Google while a password remains, audited as done by the person', async () => {
    const { browser } = await openConsole(app, { email: ada.email }, '/account/linked/google/unlink');
    const confirm = await browser.navigate(url(app, '/account/linked/google/unlink'));
    expect(confirm.status).toBe(200);
    expect(confirm.html).toContain('ada.l@gmail.test');
    const done = await browser.navigate(url(app, '/account/linked/google/unlink'), { csrf: csrfOf(confirm.html) });
    expect(done.url).toBe(url(app, '/account/linked?done=unlinked'));
    expect(done.html).toContain('action="/account/linked/google/link"');
    expect(await identitiesOf(app, ada.id)).toEqual([]);
    expect((await auditEvents(app, ada.id, 'federation.unlinked')).at(-1)).toMatchObject({ reason: 'account_console', ip: expect.any(String), details: { upstream: 'google', actor: 'self' } });
  });

  it('refuses to unlink the only way left to sign in; another identity or a passkey is a way, an authenticator app is not', async () => {
    google.person = { sub: 'solo-google', email: 'solo@gmail.test', email_verified: true, name: 'Solo' };
    const { browser, page } = await openConsoleWith(app, 'google', '/account/linked');
    expect(page.url, mainOf(page.html)).toBe(url(app, '/account/linked'));
    const solo = (await app.deps.accounts.findByEmail('solo@gmail.test'))!;
    expect(solo.passwordHash).toBeNull();

    const refusedPage = await browser.navigate(url(app, '/account/linked/google/unlink'));
    expect(refusedPage.status).toBe(409);
    expect(refusedPage.html).toContain('Google is the only way left to sign in to your account');
    expect(refusedPage.html).not.toContain('action="/account/linked/google/unlink"');
    const refusedPost = await browser.navigate(url(app, '/account/linked/google/unlink'), { csrf: csrfOf(page.html) });
    expect(refusedPost.status).toBe(409);
    expect(await identitiesOf(app, solo.id)).toHaveLength(1);

    // An authenticator app only follows a first factor: still refused.
    const app1 = await app.deps.mfa.enrolTotp(solo.id, solo.email);
    expect(await app.deps.mfa.confirmTotp(solo.id, app1.factorId, codeAt(app1.secret, clock.now()))).toBe('ok');
    expect((await browser.navigate(url(app, '/account/linked/google/unlink'), { csrf: csrfOf(page.html) })).status).toBe(409);

    // A second identity is a way in: now Google may go, and Corp SSO is the last one.
    corp.person = { sub: 'solo-corp', email: 'solo@corp.test', email_verified: true };
    const linked = await pressLink(app, browser, page, 'corp');
    expect(linked.url, mainOf(linked.html)).toBe(url(app, '/account/linked?done=linked'));
    expect((await browser.navigate(url(app, '/account/linked/google/unlink'), { csrf: csrfOf(page.html) })).url).toBe(url(app, '/account/linked?done=unlinked'));
    expect((await browser.navigate(url(app, '/account/linked/corp/unlink'))).status).toBe(409);

    // A passkey signs in alone (discoverable, user verification): with one, Corp SSO may go too.
    await app.deps.db.query(
      "INSERT INTO mfa_factors (account_id, kind, name, credential_id, public_key, sign_count, confirmed_at) VALUES ($1, 'webauthn', 'Laptop', $2, $3, 0, now())",
      [solo.id, randomBytes(16).toString('base64url'), randomBytes(77)],
    );
    const allowed = await browser.navigate(url(app, '/account/linked/corp/unlink'));
    expect(allowed.status).toBe(200);
    expect((await browser.navigate(url(app, '/account/linked/corp/unlink'), { csrf: csrfOf(allowed.html) })).url).toBe(url(app, '/account/linked?done=unlinked'));
    expect(await identitiesOf(app, solo.id)).toEqual([]);
  });

  it('counts only identities at configured upstreams as a way to sign in', async () => {
    const pat = await seedPerson(app, 'pat@example.com');
    await app.deps.db.query('UPDATE accounts SET password_hash = NULL WHERE id = $1', [pat.id]);
    await app.deps.accountLinks.link(pat, 'google', { subject: 'pat-google', email: null, emailVerified: false }, { via: 'test', ip: '127.0.0.1' });
    await app.deps.accountLinks.link(pat, 'corp', { subject: 'pat-corp', email: null, emailVerified: false }, { via: 'test', ip: '127.0.0.1' });
    // The same rules with Corp SSO taken out of the configuration: its identity no longer signs in.
    const withoutCorp = createAccountLinks({ db: app.deps.db, audit: app.deps.audit, upstreamIds: () => ['google'] });
    expect(await withoutCorp.unlink(pat, 'google', { via: 'test', ip: '127.0.0.1' })).toBe('last_way');
    expect((await withoutCorp.list(pat.id)).map((identity) => [identity.upstreamId, identity.signsIn])).toEqual([['corp', false], ['google', true]]);
    expect(await withoutCorp.unlink(pat, 'corp', { via: 'test', ip: '127.0.0.1' })).toBe('unlinked');
    expect(await app.deps.accountLinks.unlink(pat, 'google', { via: 'test', ip: '127.0.0.1' })).toBe('last_way');
  });

  it("treats another account's identity as not found, on the page and on the form", async () => {
    const { browser, page } = await openConsole(app, { email: ada.email }, '/account/linked');
    // Grace has Google linked, Ada no longer: Ada's console finds nothing to unlink.
    const notMine = await browser.navigate(url(app, '/account/linked/google/unlink'));
    expect(notMine.status).toBe(404);
    const post = await browser.request(url(app, '/account/linked/google/unlink'), { form: { csrf: csrfOf(page.html) } });
    expect(post.status).toBe(404);
    expect((await browser.navigate(url(app, '/account/linked/not-an-upstream/unlink'))).status).toBe(404);
    expect(await identitiesOf(app, grace.id)).toMatchObject([{ upstream_id: 'google', subject: 'grace-google' }]);
    expect(page.html).not.toContain('grace');
    // Without the session's CSRF token, nothing is even looked up.
    expect((await browser.request(url(app, '/account/linked/google/unlink'), { form: {} })).status).toBe(403);
  });
});
