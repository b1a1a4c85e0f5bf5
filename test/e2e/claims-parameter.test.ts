import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser } from '../helpers/browser.ts';
import { seedWebClient, signInThroughPages, PASSWORD, REDIRECT_URI } from '../helpers/oidc.ts';

describe('the claims request parameter (OIDC Core §5.5)', () => {
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;
  const browser = new Browser();

  beforeAll(async () => {
    app = await startTestApp();
    rp = await seedWebClient(app);
  });
  afterAll(async () => app?.close());

  /** A sign-in asking for scope openid alone, with the claims parameter given; its tokens and userinfo. */
  async function signIn(claims?: object) {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(rp.config, {
      redirect_uri: REDIRECT_URI, scope: 'openid', state, nonce,
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
      ...(claims ? { claims: JSON.stringify(claims) } : {}),
    });
    const { callback, sawConsent } = await signInThroughPages(browser, url, { email: rp.email, password: PASSWORD });
    const tokens = await client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
    const idToken = tokens.claims()!;
    const userinfo = await client.fetchUserInfo(rp.config, tokens.access_token, idToken.sub);
    return { idToken, userinfo, sawConsent };
  }

  it('is advertised in discovery', () => {
    expect(rp.config.serverMetadata().claims_parameter_supported).toBe(true);
  });

  it('scope openid alone yields neither email nor name', async () => {
    const { idToken, userinfo } = await signIn();
    expect(idToken.email).toBeUndefined();
    expect(idToken.name).toBeUndefined();
    expect(userinfo).toEqual({ sub: idToken.sub });
  });

  it('puts a claim asked for in id_token into the ID token only, and one asked for in userinfo into userinfo only', async () => {
    const { idToken, userinfo, sawConsent } = await signIn({ id_token: { email: { essential: true } }, userinfo: { name: null } });
    // Signed in and consented to scope openid already: claims beyond it are asked for again.
    expect(sawConsent).toBe(true);
    expect(idToken.email).toBe(rp.email);
    // Only the claim asked for: not the rest of the email scope, not the userinfo member's name.
    expect(idToken.email_verified).toBeUndefined();
    expect(idToken.name).toBeUndefined();
    expect(userinfo).toEqual({ sub: idToken.sub, name: 'Ada Lovelace' });
  });

  it('ignores claims nobody has and refuses a claims parameter that is not a JSON object', async () => {
    const { idToken } = await signIn({ id_token: { 'https://example.test/unknown': null, given_name: null } });
    expect(idToken).not.toHaveProperty(['https://example.test/unknown']);
    expect(idToken.given_name).toBe('Ada');

    const url = client.buildAuthorizationUrl(rp.config, {
      redirect_uri: REDIRECT_URI, scope: 'openid', state: 'bad-claims',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256',
      claims: '["email"]',
    });
    const step = await browser.follow(url, REDIRECT_URI);
    if (!('url' in step)) throw new Error(`expected a redirect to the client, got a page ${step.page.status}`);
    expect(Object.fromEntries(new URL(step.url).searchParams)).toMatchObject({ error: 'invalid_request', state: 'bad-claims' });
  });
});
