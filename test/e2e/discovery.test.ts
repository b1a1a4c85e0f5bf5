import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportJWK, generateKeyPair } from 'jose';
import { startTestApp, type TestApp } from '../helpers/app.ts';

/**
 * Discovery advertises only what a client can actually be registered with: every
 * authentication method, algorithm and grant type it lists is accepted by `clients.create`,
 * and what it does not list is refused. (Issue 15: mod_auth_openidc, configured for
 * client_secret_jwt as discovery invited, got invalid_client because no such client could exist.)
 */
describe('discovery lists what can be registered', () => {
  let app: TestApp;
  let metadata: Record<string, unknown>;
  let jwks: { keys: unknown[] };
  let n = 0;
  const id = () => `disc-${++n}`;
  const redirectUris = ['https://rp.example.com/cb'];

  beforeAll(async () => {
    app = await startTestApp();
    metadata = await (await fetch(`${app.issuer}/.well-known/openid-configuration`)).json() as Record<string, unknown>;
    const { publicKey } = await generateKeyPair('ES256');
    jwks = { keys: [{ ...(await exportJWK(publicKey)), alg: 'ES256', use: 'sig' }] };
  });
  afterAll(async () => app?.close());

  const list = (key: string) => metadata[key] as string[];

  it('advertises key-based and secret-based client authentication, JAR, PAR, DPoP, the device flow and the claims parameter', () => {
    expect(list('token_endpoint_auth_methods_supported')).toEqual(['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none']);
    expect(metadata).toMatchObject({
      request_parameter_supported: true,
      claims_parameter_supported: true,
      pushed_authorization_request_endpoint: `${app.issuer}/request`,
      device_authorization_endpoint: `${app.issuer}/device/auth`,
    });
    expect(list('grant_types_supported')).toContain('urn:ietf:params:oauth:grant-type:device_code');
    expect(list('dpop_signing_alg_values_supported')).toEqual(expect.arrayContaining(['ES256', 'EdDSA']));
    expect(list('request_object_signing_alg_values_supported')).not.toContain('none');
  });

  it('every advertised authentication method can be registered', async () => {
    for (const method of list('token_endpoint_auth_methods_supported')) {
      const input = method === 'none'
        ? { id: id(), public: true, redirectUris }
        : { id: id(), redirectUris, metadata: { token_endpoint_auth_method: method, ...(method === 'private_key_jwt' ? { jwks } : {}) } };
      const { client, secret } = await app.deps.clients.create(input);
      expect(client.metadata.token_endpoint_auth_method, method).toBe(method);
      expect(secret !== null, method).toBe(['client_secret_basic', 'client_secret_post', 'client_secret_jwt'].includes(method));
    }
    await expect(app.deps.clients.create({ id: id(), redirectUris, metadata: { token_endpoint_auth_method: 'tls_client_auth' } })).rejects.toThrow(/token_endpoint_auth_method/);
  });

  it('every advertised assertion algorithm can be registered for its method, and no other', async () => {
    for (const alg of list('token_endpoint_auth_signing_alg_values_supported')) {
      const method = alg.startsWith('HS') ? 'client_secret_jwt' : 'private_key_jwt';
      await app.deps.clients.create({ id: id(), redirectUris, metadata: { token_endpoint_auth_method: method, token_endpoint_auth_signing_alg: alg, ...(method === 'private_key_jwt' ? { jwks } : {}) } });
    }
    await expect(app.deps.clients.create({ id: id(), redirectUris, metadata: { token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'RS512', jwks } })).rejects.toThrow(/token_endpoint_auth_signing_alg/);
  });

  it('ID tokens only in the algorithms of the keys we hold, each of which can be registered', async () => {
    const keys = (await (await fetch(`${app.issuer}/jwks`)).json() as { keys: Array<{ alg: string }> }).keys;
    expect([...list('id_token_signing_alg_values_supported')].sort()).toEqual([...new Set(keys.map((key) => key.alg))].sort());
    for (const alg of list('id_token_signing_alg_values_supported')) {
      await app.deps.clients.create({ id: id(), redirectUris, metadata: { id_token_signed_response_alg: alg } });
    }
    await expect(app.deps.clients.create({ id: id(), redirectUris, metadata: { id_token_signed_response_alg: 'EdDSA' } })).rejects.toThrow(/id_token_signed_response_alg/);
  });

  it('every advertised grant type can be registered', async () => {
    for (const grant of list('grant_types_supported')) {
      const grantTypes = grant === 'refresh_token' ? ['authorization_code', grant] : [grant];
      await app.deps.clients.create({ id: id(), grantTypes: grantTypes as never, ...(grantTypes.includes('authorization_code') ? { redirectUris } : {}) });
    }
    await expect(app.deps.clients.create({ id: id(), grantTypes: ['implicit'] as never, redirectUris })).rejects.toThrow(/grantTypes/);
  });

  it('per-client requirements for signed requests, PAR and DPoP can be registered', async () => {
    const { client } = await app.deps.clients.create({
      id: id(), redirectUris, metadata: { token_endpoint_auth_method: 'private_key_jwt', jwks, require_signed_request_object: true, request_object_signing_alg: 'ES256', require_pushed_authorization_requests: true, dpop_bound_access_tokens: true },
    });
    expect(client.metadata).toMatchObject({ require_signed_request_object: true, require_pushed_authorization_requests: true, dpop_bound_access_tokens: true });
  });
});
