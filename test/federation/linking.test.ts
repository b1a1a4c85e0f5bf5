import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { seedWebClient, PASSWORD, REDIRECT_URI } from '../helpers/oidc.ts';
import { startFakeOidcUpstream, type FakeOidcUpstream } from '../helpers/fake-oidc-upstream.ts';
import { allowIfAsked, asPage, counts, identitiesOf, pressUpstreamButton, redeem } from '../helpers/federation.ts';

/** Submits the link page's password form. */
async function submitPassword(app: TestApp, browser: Browser, html: string, password: string) {
  const form = readForm(html, '/link');
  return browser.follow(new URL(form.action, app.issuer), REDIRECT_URI, { form: { ...form.fields, password } });
}

describe('account linking that cannot be hijacked', () => {
  let google: FakeOidcUpstream;
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;

  beforeAll(async () => {
    google = await startFakeOidcUpstream();
    app = await startTestApp(google.env('google'));
    rp = await seedWebClient(app);
  });
  afterAll(async () => {
    await app?.close();
    await google?.close();
  });

  it("an attacker's upstream account with the victim's email, unverified there, cannot sign in as the victim", async () => {
    const victim = await app.deps.accounts.create({ email: 'victim@example.com', password: PASSWORD, emailVerified: true });
    google.person = { sub: 'attacker-1', email: 'victim@example.com', email_verified: false, name: 'Not The Victim' };
    const before = await counts(app);
    const browser = new Browser();
    const { step } = await pressUpstreamButton(app, rp.config, browser, 'google');
    let page = asPage(step);
    // Not signed in: asked to prove ownership of the local account instead.
    expect(page.pageUrl).toMatch(/\/interaction\/[^/]+\/link$/);
    expect(page.html).toContain('enter its password');

    for (let attempt = 1; attempt <= 4; attempt++) {
      page = asPage(await submitPassword(app, browser, page.html, `guess-${attempt}-wrong`));
      expect(page.status).toBe(400);
      expect(page.html).toContain('Incorrect password.');
    }
    page = asPage(await submitPassword(app, browser, page.html, 'guess-5-wrong'));
    expect(page.html).toContain('Too many incorrect passwords');
    // The pending link is gone: the link page now leads back to the login page.
    const again = await browser.navigate(page.pageUrl);
    expect(again.html).toContain('Continue with Google');
    expect(await counts(app)).toEqual(before);
    expect(await identitiesOf(app, victim.id)).toEqual([]);
  });

  it('a verified upstream email does not reach a local account whose email is unverified without its password', async () => {
    const local = await app.deps.accounts.create({ email: 'pat@example.com', password: PASSWORD, emailVerified: false, name: 'Pat' });
    google.person = { sub: 'pat-google', email: 'pat@example.com', email_verified: true, name: 'Pat G' };
    const browser = new Browser();
    const { request, step } = await pressUpstreamButton(app, rp.config, browser, 'google');
    const page = asPage(step);
    expect(page.html).toContain('There is already an account for pat@example.com');

    const linked = await submitPassword(app, browser, page.html, PASSWORD);
    const tokens = await redeem(rp.config, await allowIfAsked(app, browser, linked), request);
    expect(tokens.claims()!.sub).toBe(local.id);
    expect(await identitiesOf(app, local.id)).toMatchObject([{ upstream_id: 'google', subject: 'pat-google', email: 'pat@example.com' }]);
    // Google verified the address and the owner proved the account: the email now counts as verified.
    expect((await app.deps.accounts.findById(local.id))!.emailVerified).toBe(true);

    // Next time the identity is known: straight in, no password page.
    const next = new Browser();
    const second = await pressUpstreamButton(app, rp.config, next, 'google');
    const secondTokens = await redeem(rp.config, await allowIfAsked(app, next, second.step), second.request);
    expect(secondTokens.claims()!.sub).toBe(local.id);
  });

  it('cancel on the link page goes back to the login page and links nothing', async () => {
    const local = await app.deps.accounts.create({ email: 'sam@example.com', password: PASSWORD, emailVerified: true });
    google.person = { sub: 'sam-google', email: 'sam@example.com', email_verified: false };
    const before = await counts(app);
    const browser = new Browser();
    const { step, loginUrl } = await pressUpstreamButton(app, rp.config, browser, 'google');
    const form = readForm(asPage(step).html, '/link/cancel');
    const back = asPage(await browser.follow(new URL(form.action, app.issuer), REDIRECT_URI, { form: form.fields }));
    expect(back.pageUrl).toBe(loginUrl);
    expect(back.html).toContain('Continue with Google');
    expect(await counts(app)).toEqual(before);
    expect(await identitiesOf(app, local.id)).toEqual([]);
  });

  it('an account without a password cannot be linked from an unverified match', async () => {
    await app.deps.accounts.create({ email: 'nopass@example.com', emailVerified: false });
    google.person = { sub: 'nopass-google', email: 'nopass@example.com', email_verified: true };
    const browser = new Browser();
    const { step } = await pressUpstreamButton(app, rp.config, browser, 'google');
    const page = asPage(step);
    expect(page.html).toContain('it has no password, so it cannot be linked');
    expect(page.html).not.toContain('name="password"');
    const before = await counts(app);
    // Posting a password anyway changes nothing.
    const form = readForm(page.html, '/link/cancel');
    const posted = await browser.follow(new URL(form.action.replace(/\/cancel$/, ''), app.issuer), REDIRECT_URI, { form: { ...form.fields, password: 'anything-at-all' } });
    expect(asPage(posted).status).toBe(400);
    expect(await counts(app)).toEqual(before);
  });

  it('a second Google account with a verified email cannot take over an account already linked to another', async () => {
    const owner = await app.deps.accounts.create({ email: 'owner@example.com', password: PASSWORD, emailVerified: true });
    google.person = { sub: 'owner-google-1', email: 'owner@example.com', email_verified: true };
    const browser = new Browser();
    const first = await pressUpstreamButton(app, rp.config, browser, 'google');
    expect((await redeem(rp.config, await allowIfAsked(app, browser, first.step), first.request)).claims()!.sub).toBe(owner.id);

    // The address is recycled at the upstream and now belongs to a different Google account.
    google.person = { sub: 'owner-google-2', email: 'owner@example.com', email_verified: true };
    const before = await counts(app);
    const { step } = await pressUpstreamButton(app, rp.config, new Browser(), 'google');
    const page = asPage(step);
    expect(page.status).toBe(409);
    expect(page.html).toContain('already linked to another Google account');
    expect(await counts(app)).toEqual(before);
  });

  it('a disabled account is not signed in through its linked identity', async () => {
    const person = await app.deps.accounts.create({ email: 'leaver@example.com', password: PASSWORD, emailVerified: true });
    google.person = { sub: 'leaver-google', email: 'leaver@example.com', email_verified: true };
    const browser = new Browser();
    const first = await pressUpstreamButton(app, rp.config, browser, 'google');
    expect((await redeem(rp.config, await allowIfAsked(app, browser, first.step), first.request)).claims()!.sub).toBe(person.id);
    await app.deps.accounts.setDisabled('leaver@example.com', true);
    const { step } = await pressUpstreamButton(app, rp.config, new Browser(), 'google');
    expect(asPage(step).status).toBe(403);
  });

  it('two sign-ins racing for one new identity end in one account, whatever the interleaving', async () => {
    for (let round = 0; round < 10; round++) {
      const profile = { subject: `race-${round}`, email: `race-${round}@example.com`, emailVerified: true, name: 'Race' };
      const before = await counts(app);
      const results = await Promise.all([app.deps.federation.resolve('google', profile), app.deps.federation.resolve('google', profile)]);
      const ids = results.map((result) => (result.type === 'signed_in' ? result.accountId : null));
      expect(ids[0], JSON.stringify(results)).toBeTruthy();
      expect(ids[0]).toBe(ids[1]);
      expect(results.map((result) => (result.type === 'signed_in' ? result.outcome : result.type)).sort()).toEqual(['created', 'existing']);
      expect(await counts(app)).toEqual({ accounts: before.accounts + 1, identities: before.identities + 1 });
    }
  });
});
