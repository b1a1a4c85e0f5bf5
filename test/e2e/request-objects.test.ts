import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { SignJWT, UnsecuredJWT } from 'jose';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser } from '../helpers/browser.ts';
import { seedWebClient, authorizationRequest, signInThroughPages, PASSWORD, REDIRECT_URI } from '../helpers/oidc.ts';
import { clientKey, type ClientKey } from '../helpers/jwks-server.ts';
import { authorizationRefusal as refusal } from '../helpers/authorization-refusal.ts';

describe('request objects (JAR, RFC 9101)', () => {
  let app: TestApp;
  let web: Awaited<ReturnType<typeof seedWebClient>>;
  let jar: client.Configuration;
  let key: ClientKey;

  beforeAll(async () => {
    [app, key] = await Promise.all([startTestApp(), clientKey('RS256', 'jar-1')]);
    web = await seedWebClient(app);
    const { secret } = await app.deps.clients.create({
      id: 'jar-app', redirectUris: [REDIRECT_URI], grantTypes: ['authorization_code'],
      metadata: { jwks: { keys: [key.publicJwk] }, require_signed_request_object: true, request_object_signing_alg: 'RS256' },
    });
    jar = await client.discovery(new URL(app.issuer), 'jar-app', undefined, client.ClientSecretBasic(secret!), { execute: [client.allowInsecureRequests] });
  });
  afterAll(async () => app?.close());

  /** A code + PKCE request as a request object's claims (OIDC Core §6.1), with what the test overrides. */
  async function requestClaims(extra: Record<string, unknown> = {}) {
    const verifier = client.randomPKCECodeVerifier();
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: 'jar-app', aud: app.issuer, iat: now, nbf: now, exp: now + 300, jti: randomUUID(),
      client_id: 'jar-app', response_type: 'code', redirect_uri: REDIRECT_URI, scope: 'openid',
      state: client.randomState(), nonce: client.randomNonce(),
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
      ...extra,
    };
    return { claims, verifier };
  }

  const signed = (claims: object, signer: ClientKey = key) => new SignJWT({ ...claims }).setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: 'oauth-authz-req+jwt' }).sign(signer.privateKey);

  /** /auth with only client_id and the object, plus any query parameters the test adds beside it. */
  function authUrl(request: string, query: Record<string, string> = {}): URL {
    const url = new URL(`${app.issuer}/auth`);
    url.search = new URLSearchParams({ client_id: 'jar-app', ...query, request }).toString();
    return url;
  }

  it('advertises request objects in discovery, signed only (no alg none)', () => {
    const metadata = jar.serverMetadata();
    expect(metadata.request_parameter_supported).toBe(true);
    expect(metadata.request_object_signing_alg_values_supported).toEqual(expect.arrayContaining(['RS256', 'ES256']));
    expect(metadata.request_object_signing_alg_values_supported).not.toContain('none');
  });

  it("accepts a signed object and uses its parameters over the query's: its state and its scope", async () => {
    const { claims, verifier } = await requestClaims({ scope: 'openid email' });
    // The query asks for less and names another state; RFC 9101 §6.3 uses the object's alone.
    const url = authUrl(await signed(claims), { response_type: 'code', scope: 'openid', state: 'from-the-query', redirect_uri: REDIRECT_URI });
    const { callback } = await signInThroughPages(new Browser(), url, { email: web.email, password: PASSWORD });
    expect(new URL(callback).searchParams.get('state')).toBe(claims.state);
    const tokens = await client.authorizationCodeGrant(jar, new URL(callback), { pkceCodeVerifier: verifier, expectedState: claims.state, expectedNonce: claims.nonce, idTokenExpected: true });
    expect(tokens.scope?.split(' ').sort()).toEqual(['email', 'openid']);
    expect(tokens.claims()).toMatchObject({ email: web.email, email_verified: true, nonce: claims.nonce });
  });

  it('signs in with openid-client building the object (buildAuthorizationUrlWithJAR)', async () => {
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const url = await client.buildAuthorizationUrlWithJAR(jar, {
      redirect_uri: REDIRECT_URI, scope: 'openid', state,
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    }, { key: key.privateKey, kid: key.kid });
    expect([...url.searchParams.keys()].sort()).toEqual(['client_id', 'request']);
    const { callback } = await signInThroughPages(new Browser(), url, { email: web.email, password: PASSWORD });
    const tokens = await client.authorizationCodeGrant(jar, new URL(callback), { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.claims()?.email).toBeUndefined(); // scope openid alone, and nothing else asked
  });

  it('refuses an unsigned object (alg none)', async () => {
    const { claims } = await requestClaims();
    expect(await refusal(authUrl(new UnsecuredJWT({ ...claims }).encode()))).toMatchObject({ error: 'invalid_request_object', description: 'unsupported signed request alg' });
  });

  it('refuses an object signed with another key, or tampered with after signing', async () => {
    const { claims } = await requestClaims();
    const stranger = await clientKey('RS256', 'jar-1');
    expect(await refusal(authUrl(await signed(claims, stranger)))).toMatchObject({ error: 'invalid_request_object', description: 'could not validate Request Object' });

    const [header, , signature] = (await signed(claims)).split('.');
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, scope: 'openid email profile' })).toString('base64url')}.${signature}`;
    expect(await refusal(authUrl(tampered))).toMatchObject({ error: 'invalid_request_object', description: 'could not validate Request Object' });
  });

  it('refuses an object in another algorithm than the registered request_object_signing_alg', async () => {
    const { claims } = await requestClaims();
    const es = await clientKey('ES256', 'jar-es');
    expect(await refusal(authUrl(await signed(claims, es)))).toMatchObject({ error: 'invalid_request_object', description: 'the preregistered alg must be used in request or request_uri' });
  });

  it('refuses a plain request from the client that requires objects', async () => {
    const plain = await authorizationRequest(jar, {}, { offline: false });
    expect(await refusal(plain.url)).toMatchObject({ error: 'invalid_request', description: 'Request Object must be used by this client' });
  });

  it('lets a client without the requirement send plain requests', async () => {
    const plain = await authorizationRequest(web.config, {}, { offline: false });
    const { callback } = await signInThroughPages(new Browser(), plain.url, { email: web.email, password: PASSWORD });
    const tokens = await client.authorizationCodeGrant(web.config, new URL(callback), { pkceCodeVerifier: plain.verifier, expectedState: plain.state, expectedNonce: plain.nonce });
    expect(tokens.claims()?.email).toBe(web.email);
  });
});
