import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser } from '../helpers/browser.ts';
import { seedWebClient, authorizationRequest, REDIRECT_URI, PASSWORD } from '../helpers/oidc.ts';
import { startFakeGitHub, type FakeGitHub } from '../helpers/fake-github.ts';
import { allowIfAsked, asPage, counts, identitiesOf, pressUpstreamButton, redeem } from '../helpers/federation.ts';

describe('sign in with GitHub (fake GitHub Enterprise-style URLs on loopback)', () => {
  let github: FakeGitHub;
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;

  beforeAll(async () => {
    github = await startFakeGitHub();
    app = await startTestApp(github.env('github'));
    rp = await seedWebClient(app);
  });
  afterAll(async () => {
    await app?.close();
    await github?.close();
  });

  it('shows a GitHub button and no Google button', async () => {
    const request = await authorizationRequest(rp.config, {}, { offline: false });
    const login = asPage(await new Browser().follow(request.url, REDIRECT_URI));
    expect(login.html).toContain('Continue with GitHub');
    expect(login.html).not.toContain('Google');
  });

  it('links an existing verified account through the primary, verified GitHub email; the sub stays', async () => {
    const existing = await app.deps.accounts.create({ email: 'octocat@github.test', password: PASSWORD, emailVerified: true, name: 'Mona' });
    github.person.emails = [
      { email: 'octo-old@github.test', primary: false, verified: true, visibility: null },
      { email: 'OctoCat@github.test', primary: true, verified: true, visibility: 'public' },
    ];
    const before = await counts(app);
    const browser = new Browser();
    const { request, step } = await pressUpstreamButton(app, rp.config, browser, 'github');
    const tokens = await redeem(rp.config, await allowIfAsked(app, browser, step), request);
    expect(tokens.claims()!.sub).toBe(existing.id);
    expect(await counts(app)).toEqual({ accounts: before.accounts, identities: before.identities + 1 });
    expect(await identitiesOf(app, existing.id)).toMatchObject([{ upstream_id: 'github', subject: '583231', email: 'octocat@github.test' }]);
    // The profile is the local one: a link does not overwrite it.
    expect((await app.deps.accounts.findById(existing.id))!.name).toBe('Mona');
  });

  it('does not link on a verified address that is not the primary one', async () => {
    await app.deps.accounts.create({ email: 'second@github.test', password: PASSWORD, emailVerified: true });
    github.person = {
      id: 42, login: 'someone', name: null, avatar_url: 'https://avatars.githubusercontent.test/u/42',
      emails: [
        { email: 'second@github.test', primary: false, verified: true, visibility: null },
        { email: 'main@github.test', primary: true, verified: false, visibility: 'private' },
      ],
    };
    const before = await counts(app);
    const { step } = await pressUpstreamButton(app, rp.config, new Browser(), 'github');
    // No account has the (unverified) primary address, and it is not verified: nothing is made.
    const page = asPage(step);
    expect(page.html).toContain('email address is not verified');
    expect(await counts(app)).toEqual(before);
  });

  it('creates an account named after the GitHub login when the profile has no name', async () => {
    github.person = {
      id: 7, login: 'linus', name: null, avatar_url: 'https://avatars.githubusercontent.test/u/7',
      emails: [{ email: 'linus@kernel.test', primary: true, verified: true, visibility: 'private' }],
    };
    const browser = new Browser();
    const { request, step } = await pressUpstreamButton(app, rp.config, browser, 'github');
    const tokens = await redeem(rp.config, await allowIfAsked(app, browser, step), request);
    const account = await app.deps.accounts.findById(tokens.claims()!.sub);
    expect(account).toMatchObject({ email: 'linus@kernel.test', emailVerified: true, name: 'linus', picture: 'https://avatars.githubusercontent.test/u/7', passwordHash: null });
  });

  it('shows the friendly page when the person declines at GitHub, with a way back to the login page', async () => {
    github.faults.authorizeError = 'access_denied';
    try {
      const browser = new Browser();
      const before = await counts(app);
      const { step, loginUrl } = await pressUpstreamButton(app, rp.config, browser, 'github');
      const page = asPage(step);
      expect(page.status).toBe(400);
      expect(page.html).toContain('Sign-in with GitHub was cancelled');
      const back = /href="(\/interaction\/[^"]+)"/.exec(page.html)![1]!;
      expect(new URL(back, app.issuer).href).toBe(loginUrl);
      const login = await browser.navigate(new URL(back, app.issuer).href);
      expect(login.status).toBe(200);
      expect(login.html).toContain('Continue with GitHub');
      expect(await counts(app)).toEqual(before);
    } finally {
      delete github.faults.authorizeError;
    }
  });
});
