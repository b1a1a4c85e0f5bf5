import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser, readForm } from '../helpers/browser.ts';
import { seedWebClient, authorizationRequest, signInThroughPages, PASSWORD, REDIRECT_URI, POST_LOGOUT_URI } from '../helpers/oidc.ts';

describe('authorization code + PKCE through the hosted pages', () => {
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;
  const browser = new Browser();
  let tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;

  beforeAll(async () => {
    app = await startTestApp();
    rp = await seedWebClient(app);
  });
  afterAll(async () => app?.close());

  it('publishes discovery with PKCE S256, the iss response parameter and our scopes', async () => {
    const metadata = rp.config.serverMetadata();
    expect(metadata.issuer).toBe(app.issuer);
    expect(metadata.code_challenge_methods_supported).toEqual(['S256']);
    expect(metadata.authorization_response_iss_parameter_supported).toBe(true);
    expect(metadata.scopes_supported).toEqual(expect.arrayContaining(['openid', 'profile', 'email', 'offline_access', 'roles']));
    expect(metadata.response_types_supported).toEqual(['code']);
  });

  it('signs in with a password, asks for consent, and returns a code the client exchanges', async () => {
    const request = await authorizationRequest(rp.config);
    const { callback, sawConsent } = await signInThroughPages(browser, request.url, { email: rp.email, password: PASSWORD });
    expect(sawConsent).toBe(true);
    const callbackUrl = new URL(callback);
    expect(callbackUrl.searchParams.get('iss')).toBe(app.issuer);
    tokens = await client.authorizationCodeGrant(rp.config, callbackUrl, {
      pkceCodeVerifier: request.verifier,
      expectedState: request.state,
      expectedNonce: request.nonce,
      idTokenExpected: true,
    });
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.refresh_token).toBeTruthy();
  });

  it('issues an ID token whose signature verifies against /jwks (RS256)', async () => {
    const jwks = createRemoteJWKSet(new URL(`${app.issuer}/jwks`));
    const { payload } = await jwtVerify(tokens.id_token!, jwks, { issuer: app.issuer, audience: 'web-app' });
    expect(decodeProtectedHeader(tokens.id_token!).alg).toBe('RS256');
    const account = await app.deps.accounts.findByEmail(rp.email);
    expect(payload.sub).toBe(account!.id);
  });

  it('returns email and roles from userinfo', async () => {
    const claims = tokens.claims()!;
    const info = await client.fetchUserInfo(rp.config, tokens.access_token, claims.sub);
    expect(info).toMatchObject({ sub: claims.sub, email: rp.email, email_verified: true, name: 'Ada Lovelace', given_name: 'Ada', roles: ['admin', 'staff'] });
  });

  it('introspects the access token as active, for this client and subject', async () => {
    const result = await client.tokenIntrospection(rp.config, tokens.access_token);
    expect(result).toMatchObject({ active: true, client_id: 'web-app', sub: tokens.claims()!.sub });
    expect(String(result.scope).split(' ')).toEqual(expect.arrayContaining(['openid', 'email', 'roles']));
  });

  it('rotates the refresh token; the old one again within the grace window gets the same successor', async () => {
    // After the window (REFRESH_TOKEN_GRACE_SECONDS) the old one revokes the grant: test/e2e/refresh-grace.test.ts.
    const first = tokens.refresh_token!;
    const refreshed = await client.refreshTokenGrant(rp.config, first);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(first);
    const repeated = await client.refreshTokenGrant(rp.config, first);
    expect(repeated.refresh_token).toBe(refreshed.refresh_token);
    expect(repeated.access_token).not.toBe(refreshed.access_token);
    tokens = refreshed;
  });

  it('revokes an access token so introspection reports it inactive', async () => {
    await client.tokenRevocation(rp.config, tokens.access_token);
    const result = await client.tokenIntrospection(rp.config, tokens.access_token);
    expect(result.active).toBe(false);
    await expect(client.fetchUserInfo(rp.config, tokens.access_token, client.skipSubjectCheck)).rejects.toBeTruthy();
  });

  it('logs out through RP-initiated logout; prompt=none then yields login_required', async () => {
    const endSession = client.buildEndSessionUrl(rp.config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: POST_LOGOUT_URI, state: 'bye' });
    const confirm = await browser.follow(endSession, POST_LOGOUT_URI);
    if (!('page' in confirm)) throw new Error('expected the logout confirmation page');
    expect(confirm.page.status).toBe(200);
    const form = readForm(confirm.html, '/session/end/confirm');
    const done = await browser.follow(new URL(form.action, app.issuer), POST_LOGOUT_URI, { form: { ...form.fields, logout: 'yes' } });
    expect('url' in done && new URL(done.url).searchParams.get('state')).toBe('bye');

    const silent = await authorizationRequest(rp.config, { prompt: 'none' }, { offline: false });
    const result = await browser.follow(silent.url, REDIRECT_URI);
    if (!('url' in result)) throw new Error(`expected a redirect to the client, got a page ${result.page.status}`);
    const params = new URL(result.url).searchParams;
    expect(params.get('error')).toBe('login_required');
    expect(params.get('state')).toBe(silent.state);
  });

  it('remembers consent: signing in again skips the consent page', async () => {
    const request = await authorizationRequest(rp.config, {}, { offline: false });
    const { callback, sawConsent } = await signInThroughPages(browser, request.url, { email: rp.email, password: PASSWORD });
    expect(sawConsent).toBe(false);
    const again = await client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce });
    const info = await client.fetchUserInfo(rp.config, again.access_token, again.claims()!.sub);
    expect(info.email).toBe(rp.email);
  });
});
