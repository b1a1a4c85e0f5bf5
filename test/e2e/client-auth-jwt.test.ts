import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import * as client from 'openid-client';
import { SignJWT, createRemoteJWKSet, jwtVerify } from 'jose';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser } from '../helpers/browser.ts';
import { authorizationRequest, signInThroughPages, PASSWORD, REDIRECT_URI } from '../helpers/oidc.ts';
import { clientKey, startJwksServer, type ClientKey } from '../helpers/jwks-server.ts';

const EMAIL = 'grace@example.com';
const API = 'https://api.example.test/ledger';
const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** What signs an assertion: a client's private key, or (client_secret_jwt) its secret. */
type Signer = Pick<ClientKey, 'alg'> & { kid?: string; privateKey: ClientKey['privateKey'] | Uint8Array };

describe('client authentication with signed JWTs (RFC 7523: private_key_jwt, client_secret_jwt)', () => {
  let app: TestApp;
  let jwks: Awaited<ReturnType<typeof startJwksServer>>;
  let rsKey: ClientKey;
  let esKey: ClientKey;
  let inlineKey: ClientKey;
  let hsSecret: string;

  beforeAll(async () => {
    [app, jwks, rsKey, esKey, inlineKey] = await Promise.all([
      startTestApp(), startJwksServer(), clientKey('RS256', 'rs-1'), clientKey('ES256', 'es-1'), clientKey('PS256', 'inline-1'),
    ]);
    jwks.serve('/rs', [rsKey]);
    jwks.serve('/es', [esKey]);
    await app.deps.accounts.create({ email: EMAIL, password: PASSWORD, name: 'Grace Hopper', emailVerified: true });
    const common = () => ({ redirectUris: [REDIRECT_URI], grantTypes: ['authorization_code' as const, 'refresh_token' as const, 'client_credentials' as const] });
    await app.deps.clients.create({ id: 'rs-app', ...common(), metadata: { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: jwks.url('/rs'), token_endpoint_auth_signing_alg: 'RS256' } });
    await app.deps.clients.create({ id: 'es-app', ...common(), metadata: { token_endpoint_auth_method: 'private_key_jwt', jwks_uri: jwks.url('/es'), token_endpoint_auth_signing_alg: 'ES256' } });
    await app.deps.clients.create({ id: 'inline-app', ...common(), metadata: { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [inlineKey.publicJwk] } } });
    ({ secret: hsSecret } = await app.deps.clients.create({ id: 'hs-app', grantTypes: ['client_credentials'], authMethod: 'client_secret_jwt' }) as { secret: string });
    await app.deps.resources.create({ indicator: API, scopes: ['ledger:read'] });
    await app.deps.resources.grant('rs-app', API, ['ledger:read']);
  });
  afterEach(() => void vi.useRealTimers());
  afterAll(async () => {
    await app?.close();
    await jwks?.close();
  });

  const rp = (clientId: string, auth: client.ClientAuth) => client.discovery(new URL(app.issuer), clientId, undefined, auth, { execute: [client.allowInsecureRequests] });

  /** A client assertion as RFC 7523 §3 describes it, with the claims a test overrides. */
  async function assertion(key: Signer, clientId: string, claims: Record<string, unknown> = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: clientId, sub: clientId, aud: app.issuer, jti: randomUUID(), iat: now, exp: now + 60, ...claims })
      .setProtectedHeader({ alg: key.alg, ...(key.kid ? { kid: key.kid } : {}) })
      .sign(key.privateKey);
  }

  async function clientCredentials(clientId: string, clientAssertion: string) {
    const response = await fetch(`${app.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: clientId, client_assertion_type: ASSERTION_TYPE, client_assertion: clientAssertion }),
    });
    return { status: response.status, body: await response.json() as Record<string, unknown> };
  }

  it.each([
    { clientId: 'rs-app', keys: 'an RS256 key at its jwks_uri', key: () => rsKey },
    { clientId: 'es-app', keys: 'an ES256 key at its jwks_uri', key: () => esKey },
    { clientId: 'inline-app', keys: 'a PS256 key in its inline jwks', key: () => inlineKey },
  ])('$clientId ($keys): a sign-in through the pages, the code exchanged with a signed client assertion', async ({ clientId, key }) => {
    const config = await rp(clientId, client.PrivateKeyJwt({ key: key().privateKey, kid: key().kid }));
    const request = await authorizationRequest(config, {}, { offline: false });
    const { callback, sawConsent } = await signInThroughPages(new Browser(), request.url, { email: EMAIL, password: PASSWORD });
    expect(sawConsent).toBe(true);
    const tokens = await client.authorizationCodeGrant(config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true });
    const { payload } = await jwtVerify(tokens.id_token!, createRemoteJWKSet(new URL(`${app.issuer}/jwks`)), { issuer: app.issuer, audience: clientId });
    expect(payload.email).toBe(EMAIL);
    expect(tokens.access_token).toBeTruthy();
  });

  it('refuses a code exchanged without a client assertion (a private_key_jwt client has no secret)', async () => {
    const config = await rp('rs-app', client.PrivateKeyJwt({ key: rsKey.privateKey, kid: rsKey.kid }));
    const request = await authorizationRequest(config, {}, { offline: false });
    const { callback } = await signInThroughPages(new Browser(), request.url, { email: EMAIL, password: PASSWORD });
    const response = await fetch(`${app.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: 'rs-app', code: new URL(callback).searchParams.get('code')!, redirect_uri: REDIRECT_URI, code_verifier: request.verifier }),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('gets client-credentials tokens with private_key_jwt, opaque and for an API (JWT)', async () => {
    const config = await rp('rs-app', client.PrivateKeyJwt({ key: rsKey.privateKey, kid: rsKey.kid }));
    const opaque = await client.clientCredentialsGrant(config);
    expect(opaque.access_token.split('.')).not.toHaveLength(3);
    const forApi = await client.clientCredentialsGrant(config, { resource: API, scope: 'ledger:read' });
    const { payload } = await jwtVerify(forApi.access_token, createRemoteJWKSet(new URL(`${app.issuer}/jwks`)), { issuer: app.issuer, audience: API, typ: 'at+jwt' });
    expect(payload).toMatchObject({ client_id: 'rs-app', scope: 'ledger:read' });
  });

  it('accepts a client assertion once: the same jti again is invalid_client', async () => {
    const signed = await assertion(rsKey, 'rs-app');
    expect((await clientCredentials('rs-app', signed)).status).toBe(200);
    const again = await clientCredentials('rs-app', signed);
    expect(again.status).toBe(401);
    expect(again.body).toMatchObject({ error: 'invalid_client' });
    // A fresh assertion reusing only the jti is a replay too.
    const sameJti = await assertion(rsKey, 'rs-app', { jti: JSON.parse(Buffer.from(signed.split('.')[1]!, 'base64url').toString()).jti });
    expect((await clientCredentials('rs-app', sameJti)).body).toMatchObject({ error: 'invalid_client' });
  });

  it('refuses an assertion for another audience, signed with a key not in the JWKS, or expired', async () => {
    const wrongAud = await clientCredentials('rs-app', await assertion(rsKey, 'rs-app', { aud: 'https://other-idp.example.test' }));
    expect(wrongAud).toMatchObject({ status: 401, body: { error: 'invalid_client' } });

    const stranger = await clientKey('RS256', 'rs-1'); // the published kid, another key
    expect(await clientCredentials('rs-app', await assertion(stranger, 'rs-app'))).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    // The ES256 client's own key is not the RS256 client's either.
    expect(await clientCredentials('rs-app', await assertion(esKey, 'rs-app'))).toMatchObject({ status: 401, body: { error: 'invalid_client' } });

    const past = Math.floor(Date.now() / 1000) - 600;
    expect(await clientCredentials('rs-app', await assertion(rsKey, 'rs-app', { iat: past, exp: past + 60 }))).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    // An assertion naming another client (iss, sub) than the request's client_id is a malformed request.
    expect(await clientCredentials('rs-app', await assertion(rsKey, 'es-app'))).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
  });

  it('client_secret_jwt: an HS256 assertion with the client secret works once', async () => {
    const config = await rp('hs-app', client.ClientSecretJwt(hsSecret));
    expect((await client.clientCredentialsGrant(config)).access_token).toBeTruthy();
    const key: Signer = { alg: 'HS256', privateKey: new TextEncoder().encode(hsSecret) };
    const signed = await assertion(key, 'hs-app');
    expect((await clientCredentials('hs-app', signed)).status).toBe(200);
    expect(await clientCredentials('hs-app', signed)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    const wrongSecret = await assertion({ alg: 'HS256', privateKey: new TextEncoder().encode(`${hsSecret}x`) }, 'hs-app');
    expect(await clientCredentials('hs-app', wrongSecret)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  });

  it('follows a key rotation at the jwks_uri once its cached key set is stale', async () => {
    // oidc-provider refetches a jwks_uri when a signature does not verify, but only once the set
    // it holds is older than 60 s (or its Cache-Control max-age): until then the new key is refused.
    const rotated = await clientKey('RS256', 'rs-2');
    jwks.serve('/rs', [rotated]);
    const fetchesBefore = jwks.fetches('/rs');
    expect(fetchesBefore).toBeGreaterThan(0);
    expect(await clientCredentials('rs-app', await assertion(rotated, 'rs-app'))).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(jwks.fetches('/rs')).toBe(fetchesBefore);

    // 61 s later (only Date moves, for the provider and for the assertions signed here).
    vi.useFakeTimers({ toFake: ['Date'], shouldAdvanceTime: true, now: Date.now() + 61_000 });
    expect(await clientCredentials('rs-app', await assertion(rotated, 'rs-app'))).toMatchObject({ status: 200, body: { token_type: 'Bearer' } });
    expect(jwks.fetches('/rs')).toBe(fetchesBefore + 1);
    // The retired key left the set with it.
    expect(await clientCredentials('rs-app', await assertion(rsKey, 'rs-app'))).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  });
});
