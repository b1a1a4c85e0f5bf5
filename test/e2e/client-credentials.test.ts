import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { startTestApp, type TestApp } from '../helpers/app.ts';

const API = 'https://api.example.test/orders';

describe('client credentials with a registered API resource', () => {
  let app: TestApp;
  let config: client.Configuration;

  beforeAll(async () => {
    app = await startTestApp();
    const { secret } = await app.deps.clients.create({ id: 'billing-job', grantTypes: ['client_credentials'], name: 'Billing job' });
    await app.deps.resources.create({ indicator: API, scopes: ['orders:read', 'orders:write'], ttl: 300 });
    await app.deps.resources.create({ indicator: 'https://other.example.test/', scopes: ['x'] });
    await app.deps.resources.grant('billing-job', API, ['orders:read']);
    config = await client.discovery(new URL(app.issuer), 'billing-job', undefined, client.ClientSecretBasic(secret!), { execute: [client.allowInsecureRequests] });
  });
  afterAll(async () => app?.close());

  it('issues a JWT access token that a resource server verifies with the JWKS and its own audience', async () => {
    const tokens = await client.clientCredentialsGrant(config, { resource: API, scope: 'orders:read' });
    expect(tokens.expires_in).toBe(300);
    const jwks = createRemoteJWKSet(new URL(`${app.issuer}/jwks`));
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, { issuer: app.issuer, audience: API, typ: 'at+jwt' });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload.aud).toBe(API);
    expect(payload.client_id).toBe('billing-job');
    expect(payload.scope).toBe('orders:read');
    await expect(jwtVerify(tokens.access_token, jwks, { issuer: app.issuer, audience: 'https://other.example.test/' })).rejects.toThrow();
  });

  it('never grants a scope the client was not given for that resource', async () => {
    const tokens = await client.clientCredentialsGrant(config, { resource: API, scope: 'orders:read orders:write' });
    const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${app.issuer}/jwks`)), { audience: API });
    expect(payload.scope).toBe('orders:read');
  });

  it('rejects a resource the client was not granted, and an unknown resource, with invalid_target', async () => {
    await expect(client.clientCredentialsGrant(config, { resource: 'https://other.example.test/', scope: 'x' })).rejects.toMatchObject({ error: 'invalid_target' });
    await expect(client.clientCredentialsGrant(config, { resource: 'https://unknown.example.test/' })).rejects.toMatchObject({ error: 'invalid_target' });
  });

  it('rejects a wrong client secret with a 401 invalid_client', async () => {
    const response = await fetch(`${app.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from('billing-job:wrong-secret').toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: API }).toString(),
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'invalid_client' });
  });

  it('lets a resource server introspect an opaque token and a JWT with its own credentials', async () => {
    // Without a resource the token is opaque; with one it is a JWT, introspectable too (RFC 7662).
    const tokens = await client.clientCredentialsGrant(config, {});
    const { secret } = await app.deps.clients.create({ id: 'orders-api', grantTypes: ['client_credentials'] });
    const rs = await client.discovery(new URL(app.issuer), 'orders-api', undefined, client.ClientSecretBasic(secret!), { execute: [client.allowInsecureRequests] });
    const result = await client.tokenIntrospection(rs, tokens.access_token);
    expect(result).toMatchObject({ active: true, client_id: 'billing-job' });
    const jwt = await client.clientCredentialsGrant(config, { resource: API, scope: 'orders:read' });
    expect(await client.tokenIntrospection(rs, jwt.access_token)).toMatchObject({ active: true, client_id: 'billing-job', aud: API, scope: 'orders:read' });
    // Once its client is gone, so is the token.
    await app.deps.clients.delete('billing-job');
    expect(await client.tokenIntrospection(rs, jwt.access_token)).toEqual({ active: false });
  });
});
