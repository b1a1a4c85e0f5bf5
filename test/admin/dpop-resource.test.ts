import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { decodeJwt } from 'jose';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { adminToken } from '../helpers/admin.ts';
import { Browser } from '../helpers/browser.ts';
import { signInThroughPages, PASSWORD, REDIRECT_URI } from '../helpers/oidc.ts';
import { accessTokenHash, dpopKey, dpopProof, type DpopKey } from '../helpers/dpop.ts';

const EMAIL = 'frances@example.com';

/*
 * Our own resource servers (the admin API, the account API) with DPoP-bound access tokens
 * (RFC 9449 §7): such a token works only as `Authorization: DPoP <token>` with a fresh proof of
 * its key for that very request; an unbound token keeps working as a Bearer token.
 */
describe('DPoP-bound tokens at the admin and account APIs', () => {
  let app: TestApp;
  let ops: client.Configuration;
  let key: DpopKey;
  let otherKey: DpopKey;
  let token: string;
  let clientsUrl: string;

  beforeAll(async () => {
    [app, key, otherKey] = await Promise.all([startTestApp(), dpopKey(), dpopKey('RS256')]);
    const { secret } = await app.deps.clients.create({ id: 'dpop-ops', grantTypes: ['client_credentials'], metadata: { dpop_bound_access_tokens: true } });
    await app.deps.rbac.setClientRoles('dpop-ops', ['admin']);
    ops = await client.discovery(new URL(app.issuer), 'dpop-ops', undefined, client.ClientSecretBasic(secret!), { execute: [client.allowInsecureRequests] });
    const tokens = await client.clientCredentialsGrant(ops, { resource: app.deps.adminResource, scope: 'admin:read admin:write' }, { DPoP: handle(ops, key) });
    token = tokens.access_token;
    clientsUrl = `${app.issuer}/admin/api/v1/clients`;
  });
  afterAll(async () => app?.close());

  const handle = (config: client.Configuration, of: DpopKey) => client.getDPoPHandle(config, { privateKey: of.privateKey, publicKey: of.publicKey });

  async function call(url: string, options: { scheme?: string; proof?: string | string[]; method?: string; accessToken?: string } = {}) {
    const headers = new Headers({ authorization: `${options.scheme ?? 'DPoP'} ${options.accessToken ?? token}` });
    for (const proof of [options.proof ?? []].flat()) headers.append('dpop', proof);
    const response = await fetch(url, { method: options.method ?? 'GET', headers });
    const text = await response.text();
    return { status: response.status, challenge: response.headers.get('www-authenticate'), body: text ? JSON.parse(text) as Record<string, unknown> : undefined };
  }

  const refusedProof = { status: 401, challenge: expect.stringMatching(/^DPoP error="invalid_dpop_proof", algs="[^"]*ES256[^"]*"$/), body: { error: 'invalid_dpop_proof' } };

  it('is a token bound to the proof key (cnf.jkt)', () => {
    expect(decodeJwt(token)).toMatchObject({ aud: app.deps.adminResource, cnf: { jkt: key.jkt } });
  });

  it('refuses the bound token used as a Bearer token, with a DPoP challenge', async () => {
    expect(await call(clientsUrl, { scheme: 'Bearer' })).toMatchObject({ status: 401, challenge: expect.stringMatching(/^DPoP error="invalid_token", algs="/), body: { error: 'invalid_token' } });
    // A proof beside it does not make a Bearer token a DPoP one.
    expect(await call(clientsUrl, { scheme: 'Bearer', proof: await dpopProof(key, 'GET', clientsUrl, { accessToken: token }) })).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
  });

  it('serves the bound token with a valid proof (openid-client, and one made by hand)', async () => {
    const response = await client.fetchProtectedResource(ops, token, new URL(clientsUrl), 'GET', undefined, undefined, { DPoP: handle(ops, key) });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { items: Array<{ id: string }> }).items.map((item) => item.id)).toContain('dpop-ops');
    expect(await call(clientsUrl, { proof: await dpopProof(key, 'GET', clientsUrl, { accessToken: token }) })).toMatchObject({ status: 200 });
    // The scheme is case-insensitive; htu leaves out the query (RFC 9449 §4.2).
    expect(await call(`${clientsUrl}?limit=1`, { scheme: 'dpop', proof: await dpopProof(key, 'GET', clientsUrl, { accessToken: token }) })).toMatchObject({ status: 200 });
  });

  it('refuses a proof without a DPoP header, or with two', async () => {
    expect(await call(clientsUrl)).toMatchObject(refusedProof);
    const proof = () => dpopProof(key, 'GET', clientsUrl, { accessToken: token });
    expect(await call(clientsUrl, { proof: [await proof(), await proof()] })).toMatchObject(refusedProof);
  });

  it('refuses a proof for another method or another URL', async () => {
    expect(await call(clientsUrl, { proof: await dpopProof(key, 'POST', clientsUrl, { accessToken: token }) })).toMatchObject(refusedProof);
    expect(await call(clientsUrl, { proof: await dpopProof(key, 'GET', `${app.issuer}/admin/api/v1/users`, { accessToken: token }) })).toMatchObject(refusedProof);
    expect(await call(clientsUrl, { proof: await dpopProof(key, 'GET', clientsUrl.replace('127.0.0.1', 'localhost'), { accessToken: token }) })).toMatchObject(refusedProof);
    expect(await call(clientsUrl, { proof: await dpopProof(key, 'GET', 'not a url', { accessToken: token }) })).toMatchObject(refusedProof);
  });

  it('refuses a proof without ath, or with the hash of another token', async () => {
    expect(await call(clientsUrl, { proof: await dpopProof(key, 'GET', clientsUrl) })).toMatchObject(refusedProof);
    expect(await call(clientsUrl, { proof: await dpopProof(key, 'GET', clientsUrl, { claims: { ath: accessTokenHash(`${token}x`) } }) })).toMatchObject(refusedProof);
  });

  it('refuses a proof used before (same jti), and one signed with another key', async () => {
    const proof = await dpopProof(key, 'GET', clientsUrl, { accessToken: token });
    expect((await call(clientsUrl, { proof })).status).toBe(200);
    expect(await call(clientsUrl, { proof })).toMatchObject(refusedProof);
    expect(await call(clientsUrl, { proof: await dpopProof(otherKey, 'GET', clientsUrl, { accessToken: token }) })).toMatchObject(refusedProof);
    // Another key claiming the bound key's header: the signature does not verify.
    expect(await call(clientsUrl, { proof: await dpopProof(otherKey, 'GET', clientsUrl, { accessToken: token, header: { jwk: key.publicJwk }, alg: 'RS256' }) })).toMatchObject(refusedProof);
  });

  it('refuses a proof that is stale, from the future, not typed dpop+jwt, or without jti', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await call(clientsUrl, { proof: await dpopProof(key, 'GET', clientsUrl, { accessToken: token, claims: { iat: now - 90 } }) })).toMatchObject(refusedProof);
    expect(await call(clientsUrl, { proof: await dpopProof(key, 'GET', clientsUrl, { accessToken: token, claims: { iat: now + 90 } }) })).toMatchObject(refusedProof);
    expect(await call(clientsUrl, { proof: await dpopProof(key, 'GET', clientsUrl, { accessToken: token, header: { typ: 'JWT' } }) })).toMatchObject(refusedProof);
    expect(await call(clientsUrl, { proof: await dpopProof(key, 'GET', clientsUrl, { accessToken: token, claims: { jti: undefined } }) })).toMatchObject(refusedProof);
    // Within the window either way it is good.
    expect(await call(clientsUrl, { proof: await dpopProof(key, 'GET', clientsUrl, { accessToken: token, claims: { iat: now - 30 } }) })).toMatchObject({ status: 200 });
  });

  it('keeps serving unbound tokens as Bearer, and refuses them as DPoP', async () => {
    const bearer = await adminToken(app);
    expect(decodeJwt(bearer).cnf).toBeUndefined();
    expect(await call(clientsUrl, { scheme: 'Bearer', accessToken: bearer })).toMatchObject({ status: 200 });
    expect(await call(clientsUrl, { accessToken: bearer, proof: await dpopProof(key, 'GET', clientsUrl, { accessToken: bearer }) })).toMatchObject({ status: 401, challenge: 'Bearer error="invalid_token"', body: { error: 'invalid_token' } });
  });

  it("applies the same rules at the account API, to a person's bound token", async () => {
    await app.deps.accounts.create({ email: EMAIL, password: PASSWORD, name: 'Frances Allen', emailVerified: true });
    const resource = `${app.issuer}/account/api`;
    const { secret } = await app.deps.clients.create({ id: 'dpop-spa-backend', redirectUris: [REDIRECT_URI], grantTypes: ['authorization_code'], metadata: { dpop_bound_access_tokens: true } });
    await app.deps.resources.grant('dpop-spa-backend', resource, ['account:read']);
    const rp = await client.discovery(new URL(app.issuer), 'dpop-spa-backend', undefined, client.ClientSecretBasic(secret!), { execute: [client.allowInsecureRequests] });
    const verifier = client.randomPKCECodeVerifier();
    const url = client.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI, scope: 'openid account:read', resource, state: 'account',
      code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    const { callback } = await signInThroughPages(new Browser(), url, { email: EMAIL, password: PASSWORD });
    const tokens = await client.authorizationCodeGrant(rp, new URL(callback), { pkceCodeVerifier: verifier, expectedState: 'account' }, { resource }, { DPoP: handle(rp, key) });
    expect(decodeJwt(tokens.access_token)).toMatchObject({ aud: resource, cnf: { jkt: key.jkt } });

    const profileUrl = `${resource}/profile`;
    expect(await call(profileUrl, { scheme: 'Bearer', accessToken: tokens.access_token })).toMatchObject({ status: 401, challenge: expect.stringMatching(/^DPoP error="invalid_token"/) });
    expect(await call(profileUrl, { accessToken: tokens.access_token, proof: await dpopProof(otherKey, 'GET', profileUrl, { accessToken: tokens.access_token }) })).toMatchObject(refusedProof);
    const served = await call(profileUrl, { accessToken: tokens.access_token, proof: await dpopProof(key, 'GET', profileUrl, { accessToken: tokens.access_token }) });
    expect(served).toMatchObject({ status: 200, body: { email: EMAIL } });
  });
});
