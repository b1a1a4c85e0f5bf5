import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser } from '../helpers/browser.ts';
import { seedWebClient, authorizationRequest, REDIRECT_URI } from '../helpers/oidc.ts';
import { startFakeOidcUpstream, type FakeOidcUpstream } from '../helpers/fake-oidc-upstream.ts';
import { allowIfAsked, asPage, counts, identitiesOf, pressUpstreamButton, redeem } from '../helpers/federation.ts';

describe('sign in with Google (fake Google on loopback)', () => {
  let google: FakeOidcUpstream;
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;
  let firstSub: string;

  beforeAll(async () => {
    google = await startFakeOidcUpstream();
    app = await startTestApp(google.env('google'));
    rp = await seedWebClient(app);
  });
  afterAll(async () => {
    await app?.close();
    await google?.close();
  });

  it('shows a button for the configured upstream only', async () => {
    const request = await authorizationRequest(rp.config, {}, { offline: false });
    const login = asPage(await new Browser().follow(request.url, REDIRECT_URI));
    expect(login.html).toContain('Continue with Google');
    expect(login.html).not.toContain('GitHub');
    expect(login.html).toMatch(/action="\/interaction\/[^/]+\/federation\/google"/);
  });

  it('creates an account for a new person and the relying party gets an ID token for it', async () => {
    google.person = { sub: 'g-100', email: 'Grace.Hopper@Gmail.test', email_verified: true, name: 'Grace Hopper', given_name: 'Grace', family_name: 'Hopper', picture: 'https://lh3.googleusercontent.test/a/grace' };
    const before = await counts(app);
    const browser = new Browser();
    const { request, step } = await pressUpstreamButton(app, rp.config, browser, 'google');
    const tokens = await redeem(rp.config, await allowIfAsked(app, browser, step), request);

    const claims = tokens.claims()!;
    const account = await app.deps.accounts.findByEmail('grace.hopper@gmail.test');
    expect(account).toMatchObject({ emailVerified: true, passwordHash: null, name: 'Grace Hopper', givenName: 'Grace', familyName: 'Hopper', picture: 'https://lh3.googleusercontent.test/a/grace' });
    expect(claims.sub).toBe(account!.id);
    expect(claims.sub).not.toBe('g-100');
    // The ID token carries the local sub; profile claims come from userinfo (below).
    expect(claims.iss).toBe(app.issuer);
    expect(await counts(app)).toEqual({ accounts: before.accounts + 1, identities: before.identities + 1 });
    const [identity] = await identitiesOf(app, account!.id);
    expect(identity).toMatchObject({ upstream_id: 'google', subject: 'g-100', email: 'grace.hopper@gmail.test' });
    firstSub = claims.sub;

    const info = await client.fetchUserInfo(rp.config, tokens.access_token, claims.sub);
    expect(info).toMatchObject({ email: 'grace.hopper@gmail.test', email_verified: true, name: 'Grace Hopper', picture: 'https://lh3.googleusercontent.test/a/grace' });
  });

  it('sent Google a code request with PKCE S256, a nonce and a state bound to the interaction', () => {
    const params = google.authorizeRequests.at(-1)!;
    expect(params.get('response_type')).toBe('code');
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get('state')).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(params.get('redirect_uri')).toBe(`${app.issuer}/federation/google/callback`);
    expect(params.get('scope')).toBe('openid email profile');
  });

  it('signs the same Google account into the same local account next time', async () => {
    const before = await counts(app);
    const lastUsed = (await identitiesOf(app, firstSub))[0]!.last_used_at;
    const browser = new Browser();
    const { request, step } = await pressUpstreamButton(app, rp.config, browser, 'google');
    const tokens = await redeem(rp.config, await allowIfAsked(app, browser, step), request);
    expect(tokens.claims()!.sub).toBe(firstSub);
    expect(await counts(app)).toEqual(before);
    const [identity] = await identitiesOf(app, firstSub);
    expect(identity!.last_used_at.getTime()).toBeGreaterThanOrEqual(lastUsed.getTime());
  });

  it('keeps the local sub when the Google email changes later', async () => {
    google.person = { ...google.person, email: 'grace@navy.test' };
    const browser = new Browser();
    const { request, step } = await pressUpstreamButton(app, rp.config, browser, 'google');
    const tokens = await redeem(rp.config, await allowIfAsked(app, browser, step), request);
    expect(tokens.claims()!.sub).toBe(firstSub);
  });

  it('refuses to make an account from an unverified Google email, and writes nothing', async () => {
    google.person = { sub: 'g-200', email: 'unverified@gmail.test', email_verified: false, name: 'Nobody' };
    const before = await counts(app);
    const { step } = await pressUpstreamButton(app, rp.config, new Browser(), 'google');
    const page = asPage(step);
    expect(page.status).toBe(400);
    expect(page.html).toContain('email address is not verified');
    expect(page.html).toContain('Back to sign-in');
    expect(await counts(app)).toEqual(before);
  });
});
