import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser } from '../helpers/browser.ts';
import { signInThroughPages, PASSWORD, REDIRECT_URI } from '../helpers/oidc.ts';
import { dpopKey, dpopProof, type DpopKey } from '../helpers/dpop.ts';

const EMAIL = 'barbara@example.com';
const API = 'https://api.example.test/things';

describe('DPoP: sender-constrained tokens (RFC 9449)', () => {
  let app: TestApp;
  let bound: client.Configuration;
  let spa: client.Configuration;
  let rs: client.Configuration;
  let key: DpopKey;
  let otherKey: DpopKey;
  let boundSecret: string;
  /** The bound client's tokens from its sign-in, with a proof. */
  let tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
  /** Its refresh token now: every refresh rotates it. */
  let refreshToken: string;

  beforeAll(async () => {
    [app, key, otherKey] = await Promise.all([startTestApp(), dpopKey(), dpopKey()]);
    await app.deps.accounts.create({ email: EMAIL, password: PASSWORD, name: 'Barbara Liskov', emailVerified: true });
    await app.deps.resources.create({ indicator: API, scopes: ['things:read'] });
    const discover = (id: string, auth: client.ClientAuth) => client.discovery(new URL(app.issuer), id, undefined, auth, { execute: [client.allowInsecureRequests] });
    ({ secret: boundSecret } = await app.deps.clients.create({
      id: 'bound-app', redirectUris: [REDIRECT_URI], grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
      metadata: { dpop_bound_access_tokens: true },
    }) as { secret: string });
    await app.deps.resources.grant('bound-app', API, ['things:read']);
    bound = await discover('bound-app', client.ClientSecretBasic(boundSecret));
    await app.deps.clients.create({ id: 'spa', public: true, redirectUris: [REDIRECT_URI], grantTypes: ['authorization_code', 'refresh_token'] });
    spa = await discover('spa', client.None());
    const resourceServer = await app.deps.clients.create({ id: 'things-api', grantTypes: ['client_credentials'] });
    rs = await discover('things-api', client.ClientSecretBasic(resourceServer.secret!));
  });
  afterAll(async () => app?.close());

  const handle = (config: client.Configuration, of: DpopKey) => client.getDPoPHandle(config, { privateKey: of.privateKey, publicKey: of.publicKey });

  /** Signs in through the pages (offline, with consent) and returns the callback and the PKCE verifier. */
  async function signIn(config: client.Configuration, extra: Record<string, string> = {}) {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI, scope: 'openid email offline_access', prompt: 'consent', state,
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
    });
    const { callback } = await signInThroughPages(new Browser(), url, { email: EMAIL, password: PASSWORD });
    return { callback: new URL(callback), checks: { pkceCodeVerifier: verifier, expectedState: state } };
  }

  const userinfo = (accessToken: string, authorization: string, proof?: string) => fetch(`${app.issuer}/me`, {
    headers: { authorization: `${authorization} ${accessToken}`, ...(proof ? { dpop: proof } : {}) },
  });

  it('advertises its DPoP algorithms in discovery', () => {
    expect(bound.serverMetadata().dpop_signing_alg_values_supported).toEqual(expect.arrayContaining(['ES256', 'RS256']));
  });

  it('refuses the code exchange of a dpop_bound_access_tokens client without a proof, and binds its tokens with one', async () => {
    const { callback, checks } = await signIn(bound, { resource: API, scope: 'openid email offline_access things:read' });
    // oidc-provider answers invalid_grant (its detail, "DPoP proof JWT not provided", stays in
    // the log) before it consumes the code, so the code still works with a proof.
    await expect(client.authorizationCodeGrant(bound, callback, checks)).rejects.toMatchObject({ error: 'invalid_grant', status: 400 });
    tokens = await client.authorizationCodeGrant(bound, callback, checks, undefined, { DPoP: handle(bound, key) });
    refreshToken = tokens.refresh_token!;
    expect(tokens.token_type.toLowerCase()).toBe('dpop');
    expect(tokens.access_token.split('.')).not.toHaveLength(3); // opaque: no resource asked for at the token endpoint
  });

  it('binds a JWT access token for an API (RFC 8707 resource) to the proof key: cnf.jkt', async () => {
    const forApi = await client.refreshTokenGrant(bound, refreshToken, { resource: API, scope: 'things:read' }, { DPoP: handle(bound, key) });
    refreshToken = forApi.refresh_token!;
    expect(forApi.token_type.toLowerCase()).toBe('dpop');
    const { payload } = await jwtVerify(forApi.access_token, createRemoteJWKSet(new URL(`${app.issuer}/jwks`)), { issuer: app.issuer, audience: API, typ: 'at+jwt' });
    expect(payload.cnf).toEqual({ jkt: key.jkt });

    const machine = await client.clientCredentialsGrant(bound, { resource: API, scope: 'things:read' }, { DPoP: handle(bound, otherKey) });
    expect(machine.token_type.toLowerCase()).toBe('dpop');
    const { payload: machinePayload } = await jwtVerify(machine.access_token, createRemoteJWKSet(new URL(`${app.issuer}/jwks`)), { audience: API });
    expect(machinePayload.cnf).toEqual({ jkt: otherKey.jkt });
    await expect(client.clientCredentialsGrant(bound, { resource: API, scope: 'things:read' })).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('introspects bound tokens, opaque and JWT, as DPoP with their cnf.jkt', async () => {
    expect(await client.tokenIntrospection(rs, tokens.access_token)).toMatchObject({ active: true, client_id: 'bound-app', token_type: 'DPoP', cnf: { jkt: key.jkt } });
    const forApi = await client.refreshTokenGrant(bound, refreshToken, { resource: API, scope: 'things:read' }, { DPoP: handle(bound, key) });
    refreshToken = forApi.refresh_token!;
    expect(await client.tokenIntrospection(rs, forApi.access_token)).toMatchObject({ active: true, client_id: 'bound-app', aud: API, token_type: 'DPoP', cnf: { jkt: key.jkt } });
  });

  it('serves userinfo for a bound token only with a proof of its key', async () => {
    const asBearer = await userinfo(tokens.access_token, 'Bearer');
    expect(asBearer.status).toBe(401);
    expect(asBearer.headers.get('www-authenticate')).toMatch(/^DPoP .*error="invalid_token"/);

    const withProof = await userinfo(tokens.access_token, 'DPoP', await dpopProof(key, 'GET', `${app.issuer}/me`, { accessToken: tokens.access_token }));
    expect(withProof.status).toBe(200);
    expect(await withProof.json()).toMatchObject({ email: EMAIL });
    // openid-client makes the same request.
    expect(await client.fetchUserInfo(bound, tokens.access_token, client.skipSubjectCheck, { DPoP: handle(bound, key) })).toMatchObject({ email: EMAIL });

    const wrongKey = await userinfo(tokens.access_token, 'DPoP', await dpopProof(otherKey, 'GET', `${app.issuer}/me`, { accessToken: tokens.access_token }));
    expect(wrongKey.status).toBe(401);
    const noAth = await userinfo(tokens.access_token, 'DPoP', await dpopProof(key, 'GET', `${app.issuer}/me`));
    expect(noAth.status).toBe(401);
    expect(noAth.headers.get('www-authenticate')).toMatch(/error="invalid_dpop_proof"/);
  });

  it('refuses a proof used twice (same jti)', async () => {
    const proof = await dpopProof(key, 'GET', `${app.issuer}/me`, { accessToken: tokens.access_token });
    expect((await userinfo(tokens.access_token, 'DPoP', proof)).status).toBe(200);
    const replayed = await userinfo(tokens.access_token, 'DPoP', proof);
    expect(replayed.status).toBe(401);
    expect(await replayed.json()).toMatchObject({ error: 'invalid_token' });

    // At the token endpoint too.
    const tokenProof = await dpopProof(key, 'POST', `${app.issuer}/token`);
    const clientCredentials = async () => {
      const response = await fetch(`${app.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: tokenProof, authorization: `Basic ${Buffer.from(`bound-app:${boundSecret}`).toString('base64')}` },
        body: new URLSearchParams({ grant_type: 'client_credentials' }),
      });
      return { status: response.status, body: await response.json() as Record<string, unknown> };
    };
    expect(await clientCredentials()).toMatchObject({ status: 200, body: { token_type: 'DPoP' } });
    expect(await clientCredentials()).toMatchObject({ status: 400, body: { error: 'invalid_grant' } });
  });

  it("binds a public client's refresh token to the key of its proof", async () => {
    const { callback, checks } = await signIn(spa);
    const spaTokens = await client.authorizationCodeGrant(spa, callback, checks, undefined, { DPoP: handle(spa, key) });
    expect(spaTokens.token_type.toLowerCase()).toBe('dpop');
    expect(await client.tokenIntrospection(spa, spaTokens.refresh_token!)).toMatchObject({ active: true, cnf: { jkt: key.jkt } });

    await expect(client.refreshTokenGrant(spa, spaTokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(client.refreshTokenGrant(spa, spaTokens.refresh_token!, undefined, { DPoP: handle(spa, otherKey) })).rejects.toMatchObject({ error: 'invalid_grant' });
    const refreshed = await client.refreshTokenGrant(spa, spaTokens.refresh_token!, undefined, { DPoP: handle(spa, key) });
    expect(refreshed.token_type.toLowerCase()).toBe('dpop');
    expect(refreshed.refresh_token).toBeTruthy();
  });
});
