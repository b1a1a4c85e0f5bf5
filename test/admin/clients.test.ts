import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { adminCall, adminToken } from '../helpers/admin.ts';

/** A client-credentials token request as a service would make it. */
async function clientCredentials(app: TestApp, clientId: string, secret: string, params: Record<string, string> = {}) {
  const response = await fetch(`${app.issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...params }),
  });
  return { status: response.status, body: await response.json() as Record<string, unknown> };
}

describe('admin API: clients', () => {
  let app: TestApp;
  let token: string;
  let readOnly: string;
  const call = (method: string, path: string, body?: unknown) => adminCall(app, token, method, path, body);

  beforeAll(async () => {
    app = await startTestApp();
    [token, readOnly] = await Promise.all([adminToken(app, { clientId: 'ops-admin' }), adminToken(app, { clientId: 'ops-reader', scope: 'admin:read' })]);
  });
  afterAll(async () => app?.close());

  it('registers a confidential client and returns its secret once; reads never show it', async () => {
    const created = await call('POST', '/clients', {
      id: 'web', name: 'Web', redirectUris: ['https://app.example.com/cb'], postLogoutRedirectUris: ['https://app.example.com/'], scope: 'openid email',
    });
    expect(created.status).toBe(201);
    expect(created.body.client).toEqual({
      id: 'web', name: 'Web', type: 'confidential', authMethod: 'client_secret_basic', grantTypes: ['authorization_code', 'refresh_token'],
      redirectUris: ['https://app.example.com/cb'], postLogoutRedirectUris: ['https://app.example.com/'], scope: 'openid email', minimumAcr: null, roles: [],
      metadata: {
        client_id: 'web', client_name: 'Web', token_endpoint_auth_method: 'client_secret_basic', grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
        redirect_uris: ['https://app.example.com/cb'], post_logout_redirect_uris: ['https://app.example.com/'], scope: 'openid email',
      },
      createdAt: expect.any(String), updatedAt: expect.any(String),
    });
    const secret = created.body.secret as string;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await app.deps.clients.findMetadata('web'))?.client_secret).toBe(secret);

    const one = await call('GET', '/clients/web');
    expect(one.status).toBe(200);
    expect(one.body).toEqual(created.body.client);
    const list = await call('GET', '/clients');
    expect(list.body.items.map((client: { id: string }) => client.id)).toEqual(['ops-admin', 'ops-reader', 'web']);
    expect(list.body.items.find((client: { id: string }) => client.id === 'ops-admin').roles).toEqual(['admin']);
    for (const text of [JSON.stringify(one.body), JSON.stringify(list.body)]) {
      expect(text).not.toContain(secret);
      expect(text).not.toMatch(/"(client_)?secret"/);
    }
  });

  it('registers public clients without a secret, with loopback http redirect URIs', async () => {
    const spa = await call('POST', '/clients', { id: 'spa', public: true, redirectUris: ['http://localhost:5173/cb', 'http://127.0.0.1:8080/cb', 'http://[::1]:8080/cb'] });
    expect(spa.status).toBe(201);
    expect(spa.body).toMatchObject({ secret: null, client: { type: 'public', authMethod: 'none' } });
    expect(await app.deps.clients.findMetadata('spa')).not.toHaveProperty('client_secret');
    expect(await call('POST', '/clients/spa/secret')).toMatchObject({ status: 409, body: { error: 'client.public', message: 'spa is a public client: it has no secret to rotate' } });
  });

  it('refuses redirect URIs that are not exact https (or loopback http) URLs, naming the field', async () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ redirectUris: ['https://app.example.com/cb#top'] }, /^body\.redirectUris\.0: "https:\/\/app\.example\.com\/cb#top" has a fragment/],
      [{ redirectUris: ['https://app.example.com/cb#'] }, /^body\.redirectUris\.0: .* has a fragment/],
      [{ redirectUris: ['http://evil.example/cb'] }, /^body\.redirectUris\.0: "http:\/\/evil\.example\/cb" uses http on evil\.example, which is not a loopback host/],
      [{ redirectUris: ['http://127.0.0.2/cb'] }, /^body\.redirectUris\.0: .*not a loopback host/],
      [{ redirectUris: ['https://ok.example/cb', 'https://*.example.com/cb'] }, /^body\.redirectUris\.1: .*contains a wildcard/],
      [{ redirectUris: ['https://app.example.com/*'] }, /^body\.redirectUris\.0: .*wildcard/],
      [{ redirectUris: ['/relative/cb'] }, /^body\.redirectUris\.0: "\/relative\/cb" is not an absolute URL/],
      [{ redirectUris: ['not a url'] }, /^body\.redirectUris\.0: .*whitespace/],
      [{ redirectUris: ['javascript:alert(1)'] }, /^body\.redirectUris\.0: .*javascript scheme/],
      [{ redirectUris: ['https://user:pass@app.example.com/cb'] }, /^body\.redirectUris\.0: .*credentials/],
      [{ redirectUris: ['https://app.example.com/cb'], postLogoutRedirectUris: ['http://evil.example/'] }, /^body\.postLogoutRedirectUris\.0: .*post_logout_redirect_uris must be exact https URLs/],
    ];
    for (const [fields, message] of cases) {
      const result = await call('POST', '/clients', { id: 'bad', ...fields });
      expect(result.status, JSON.stringify(fields)).toBe(400);
      expect(result.body.error).toBe('request.invalid');
      expect(result.body.message).toMatch(message);
    }
    expect((await call('GET', '/clients/bad')).status).toBe(404);

    // The rule is the service's, so the CLI (which calls the same service) gets it too.
    await expect(app.deps.clients.create({ id: 'bad', redirectUris: ['http://evil.example/cb'] })).rejects.toMatchObject({
      code: 'client.invalid', status: 400, message: expect.stringMatching(/^redirectUris\.0: .*not a loopback host/),
    });
  });

  it('refuses missing, unknown and inconsistent fields', async () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{}, 'request.invalid', /^body\.id: /],
      [{ id: 'has space' }, 'request.invalid', /^body\.id: client ids are/],
      [{ id: 'x', secret: 'a'.repeat(40), grantTypes: ['client_credentials'] }, 'request.invalid', /^body: .*"secret"/],
      [{ id: 'x', grantTypes: ['client_credentials'], colour: 'red' }, 'request.invalid', /^body: .*"colour"/],
      [{ id: 'x', grantTypes: ['implicit'] }, 'request.invalid', /^body\.grantTypes\.0: /],
      [{ id: 'x', grantTypes: [] }, 'request.invalid', /^body\.grantTypes: /],
      [{ id: 'x', grantTypes: ['client_credentials'], authMethod: 'tls_client_auth' }, 'request.invalid', /^body\.authMethod: /],
      [{ id: 'x', grantTypes: ['client_credentials'], authMethod: 'private_key_jwt' }, 'client.invalid', /^metadata: jwks or jwks_uri is mandatory/],
      [{ id: 'x', grantTypes: ['client_credentials'], metadata: { colour: 'red' } }, 'client.invalid', /^metadata\.colour: not a client metadata field/],
      [{ id: 'x', grantTypes: ['client_credentials'], metadata: { require_pushed_authorization_requests: 'sometimes' } }, 'client.invalid', /^metadata: require_pushed_authorization_requests must be a boolean/],
      [{ id: 'x', grantTypes: ['client_credentials'], metadata: { client_id: 'y' } }, 'client.invalid', /^metadata\.client_id: cannot be set here/],
      [{ id: 'x', grantTypes: ['client_credentials'], metadata: { client_name: 'a\u0000b' } }, 'request.invalid_characters', /NUL|U\+0000|null character|character/i],
      [{ id: 'x', grantTypes: ['client_credentials'], metadata: 'private_key_jwt' }, 'request.invalid', /^body\.metadata: /],
      [{ id: 'x', redirectUris: 'https://app.example.com/cb' }, 'request.invalid', /^body\.redirectUris: /],
      [{ id: 'x' }, 'client.invalid', /^redirectUris: the authorization_code grant needs at least one redirect URI/],
      [{ id: 'x', public: true, grantTypes: ['client_credentials'] }, 'client.invalid', /^grantTypes: client_credentials needs a confidential client/],
      [{ id: 'x', grantTypes: ['client_credentials', 'refresh_token'] }, 'client.invalid', /^grantTypes: refresh_token is only issued through authorization_code/],
    ];
    for (const [body, error, message] of cases) {
      const result = await call('POST', '/clients', body);
      expect(result.status, JSON.stringify(body)).toBe(400);
      expect(result.body.error).toBe(error);
      expect(result.body.message).toMatch(message);
    }
    expect((await call('GET', '/clients/x')).status).toBe(404);
    expect((await call('GET', '/clients/has%20space')).body.message).toMatch(/^path\.id: /);
  });

  it('answers 409 for a duplicate id and 404 for unknown clients', async () => {
    expect((await call('POST', '/clients', { id: 'twice', grantTypes: ['client_credentials'] })).status).toBe(201);
    expect(await call('POST', '/clients', { id: 'twice', grantTypes: ['client_credentials'] })).toMatchObject({ status: 409, body: { error: 'client.exists', message: 'client twice already exists' } });
    for (const [method, path, body] of [
      ['GET', '/clients/ghost', undefined], ['PATCH', '/clients/ghost', { name: 'x' }], ['DELETE', '/clients/ghost', undefined],
      ['POST', '/clients/ghost/secret', undefined], ['PUT', '/clients/ghost/roles', { roles: [] }],
    ] as const) {
      expect(await call(method, path, body), `${method} ${path}`).toMatchObject({ status: 404, body: { error: 'client.not_found', message: 'no client with id ghost' } });
    }
  });

  it('updates a client with the same validation as create, keeping its secret', async () => {
    const { body: created } = await call('POST', '/clients', { id: 'svc', grantTypes: ['client_credentials'], name: 'Service' });
    const patched = await call('PATCH', '/clients/svc', { name: 'Billing service', authMethod: 'client_secret_post', scope: 'openid' });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id: 'svc', name: 'Billing service', authMethod: 'client_secret_post', scope: 'openid', grantTypes: ['client_credentials'] });
    expect(new Date(patched.body.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(created.client.updatedAt).getTime());
    expect((await app.deps.clients.findMetadata('svc'))?.client_secret).toBe(created.secret);
    expect((await call('GET', '/clients/svc')).body).toEqual(patched.body);

    // null clears the name and scope; fields not given stay.
    const cleared = await call('PATCH', '/clients/svc', { name: null, scope: null });
    expect(cleared.body).toMatchObject({ name: null, scope: null, authMethod: 'client_secret_post' });

    const web = await call('PATCH', '/clients/svc', {
      grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'], redirectUris: ['https://billing.example.com/cb', 'http://localhost:3000/cb'],
    });
    expect(web.body).toMatchObject({ grantTypes: ['authorization_code', 'refresh_token', 'client_credentials'], redirectUris: ['https://billing.example.com/cb', 'http://localhost:3000/cb'] });
    expect(await app.deps.clients.findMetadata('svc')).toMatchObject({ response_types: ['code'], client_secret: created.secret });

    const cases: Array<[unknown, string, RegExp]> = [
      [{ redirectUris: ['https://billing.example.com/cb#x'] }, 'request.invalid', /^body\.redirectUris\.0: .*fragment/],
      [{ redirectUris: ['http://billing.example.com/cb'] }, 'request.invalid', /^body\.redirectUris\.0: .*not a loopback host/],
      [{ redirectUris: ['https://*.example.com/cb'] }, 'request.invalid', /^body\.redirectUris\.0: .*wildcard/],
      [{ postLogoutRedirectUris: ['https://x.example/#'] }, 'request.invalid', /^body\.postLogoutRedirectUris\.0: .*fragment/],
      [{ id: 'renamed' }, 'request.invalid', /^body: .*"id"/],
      [{ public: true }, 'request.invalid', /^body: .*"public"/],
      [{ secret: 'a'.repeat(40) }, 'request.invalid', /^body: .*"secret"/],
      [{ name: '' }, 'request.invalid', /^body\.name: /],
      [{ grantTypes: [] }, 'request.invalid', /^body\.grantTypes: /],
      // Checked against the whole client: authorization_code still needs a redirect URI.
      [{ redirectUris: [] }, 'client.invalid', /^redirectUris: the authorization_code grant needs at least one redirect URI/],
      [{ grantTypes: ['refresh_token', 'client_credentials'] }, 'client.invalid', /^grantTypes: refresh_token is only issued/],
      [{ metadata: { colour: 'red' } }, 'client.invalid', /^metadata\.colour: not a client metadata field/],
      [{ metadata: { jwks_uri: 'ftp://keys.example.com/jwks' } }, 'client.invalid', /^metadata\.jwks_uri: .*ftp scheme/],
      [{ metadata: { token_endpoint_auth_method: 'none' } }, 'client.invalid', /^token_endpoint_auth_method: svc is a confidential client and stays one/],
      [{ authMethod: 'client_secret_jwt', metadata: { token_endpoint_auth_method: 'private_key_jwt' } }, 'client.invalid', /^metadata\.token_endpoint_auth_method: given twice/],
    ];
    for (const [body, error, message] of cases) {
      const result = await call('PATCH', '/clients/svc', body);
      expect(result.status, JSON.stringify(body)).toBe(400);
      expect(result.body.error).toBe(error);
      expect(result.body.message).toMatch(message);
    }
    expect((await call('GET', '/clients/svc')).body).toEqual(web.body);

    await call('POST', '/clients', { id: 'pub', public: true, redirectUris: ['https://pub.example.com/cb'] });
    expect(await call('PATCH', '/clients/pub', { authMethod: 'client_secret_basic' })).toMatchObject({ status: 400, body: { error: 'client.invalid', message: expect.stringMatching(/^authMethod: pub is a public client/) } });
    expect(await call('PATCH', '/clients/pub', { grantTypes: ['client_credentials'] })).toMatchObject({ status: 400, body: { error: 'client.invalid', message: expect.stringMatching(/^grantTypes: /) } });
  });

  it('takes any client metadata field, shows it back, and removes one given as null', async () => {
    const metadata = {
      token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://keys.example.com/jwks', require_signed_request_object: true,
      require_pushed_authorization_requests: true, dpop_bound_access_tokens: true, id_token_signed_response_alg: 'ES256', default_max_age: 600, contacts: ['ops@example.com'],
    };
    const created = await call('POST', '/clients', { id: 'fapi', redirectUris: ['https://fapi.example.com/cb'], metadata });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ secret: null, client: { authMethod: 'private_key_jwt', metadata } });
    expect((await call('GET', '/clients/fapi')).body.metadata).toMatchObject(metadata);
    const patched = await call('PATCH', '/clients/fapi', { metadata: { default_max_age: null, logo_uri: 'https://fapi.example.com/logo.png' } });
    expect(patched.status).toBe(200);
    expect(patched.body.metadata).not.toHaveProperty('default_max_age');
    expect(patched.body.metadata).toMatchObject({ logo_uri: 'https://fapi.example.com/logo.png', jwks_uri: 'https://keys.example.com/jwks' });
    // An algorithm no key of ours signs with is refused by the provider's own schema, naming the field.
    expect(await call('PATCH', '/clients/fapi', { metadata: { id_token_signed_response_alg: 'PS512' } })).toMatchObject({ status: 400, body: { error: 'client.invalid', message: expect.stringMatching(/^metadata: id_token_signed_response_alg must be/) } });
  });

  it('a change to a client applies to its next token request', async () => {
    const { body } = await call('POST', '/clients', { id: 'job', grantTypes: ['client_credentials'] });
    expect((await clientCredentials(app, 'job', body.secret)).status).toBe(200);
    await call('PATCH', '/clients/job', { grantTypes: ['authorization_code'], redirectUris: ['https://job.example.com/cb'] });
    expect(await clientCredentials(app, 'job', body.secret)).toMatchObject({ status: 400, body: { error: 'invalid_request', error_description: 'requested grant type is not allowed for this client' } });
    await call('PATCH', '/clients/job', { grantTypes: ['client_credentials'] });
    expect((await clientCredentials(app, 'job', body.secret)).status).toBe(200);
  });

  it('rotates a secret: the new one is returned once and works, the old one is refused at once', async () => {
    const { body: created } = await call('POST', '/clients', { id: 'rotating', grantTypes: ['client_credentials'] });
    expect((await clientCredentials(app, 'rotating', created.secret)).status).toBe(200);

    const rotated = await call('POST', '/clients/rotating/secret');
    expect(rotated.status).toBe(200);
    expect(rotated.body.client).toMatchObject({ id: 'rotating', type: 'confidential' });
    expect(rotated.body.secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(rotated.body.secret).not.toBe(created.secret);

    expect(await clientCredentials(app, 'rotating', created.secret)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(await clientCredentials(app, 'rotating', rotated.body.secret)).toMatchObject({ status: 200, body: { token_type: 'Bearer' } });
    expect(JSON.stringify((await call('GET', '/clients/rotating')).body)).not.toContain(rotated.body.secret);
  });

  it("sets a service client's roles, which shape its admin tokens", async () => {
    const { body: created } = await call('POST', '/clients', { id: 'robot', grantTypes: ['client_credentials'] });
    const resource = { resource: app.deps.adminResource, scope: 'admin:read admin:write' };
    expect(await clientCredentials(app, 'robot', created.secret, resource)).toMatchObject({ status: 400, body: { error: 'invalid_target' } });

    const set = await call('PUT', '/clients/robot/roles', { roles: ['admin'] });
    expect(set).toMatchObject({ status: 200, body: { id: 'robot', roles: ['admin'] } });
    const issued = await clientCredentials(app, 'robot', created.secret, resource);
    expect(issued).toMatchObject({ status: 200, body: { scope: 'admin:read admin:write' } });
    expect((await adminCall(app, issued.body.access_token as string, 'GET', '/clients/robot')).body.roles).toEqual(['admin']);

    expect(await call('PUT', '/clients/robot/roles', { roles: ['admin', 'ghost'] })).toMatchObject({ status: 404, body: { error: 'role.not_found', message: 'no role named ghost' } });
    expect(await call('PUT', '/clients/robot/roles', { roles: ['bad name'] })).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^body\.roles\.0: /) } });
    expect(await call('PUT', '/clients/robot/roles', {})).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^body\.roles: /) } });
    expect((await call('GET', '/clients/robot')).body.roles).toEqual(['admin']);
    expect((await call('PUT', '/clients/robot/roles', { roles: [] })).body.roles).toEqual([]);
    expect(await clientCredentials(app, 'robot', created.secret, resource)).toMatchObject({ status: 400, body: { error: 'invalid_target' } });
  });

  it('deletes a client: it can no longer get tokens', async () => {
    const { body: created } = await call('POST', '/clients', { id: 'doomed', grantTypes: ['client_credentials'] });
    expect((await clientCredentials(app, 'doomed', created.secret)).status).toBe(200);
    const deleted = await call('DELETE', '/clients/doomed');
    expect(deleted.status).toBe(204);
    expect(await call('GET', '/clients/doomed')).toMatchObject({ status: 404, body: { error: 'client.not_found' } });
    expect(await clientCredentials(app, 'doomed', created.secret)).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
  });

  it('a token with only admin:read can read but not change clients', async () => {
    expect((await adminCall(app, readOnly, 'GET', '/clients')).status).toBe(200);
    expect((await adminCall(app, readOnly, 'GET', '/clients/web')).status).toBe(200);
    for (const [method, path, body] of [
      ['POST', '/clients', { id: 'sneaky', grantTypes: ['client_credentials'] }], ['PATCH', '/clients/web', { name: 'x' }], ['DELETE', '/clients/web', undefined],
      ['POST', '/clients/web/secret', undefined], ['PUT', '/clients/ops-reader/roles', { roles: ['admin'] }],
    ] as const) {
      const result = await adminCall(app, readOnly, method, path, body);
      expect(result.status, `${method} ${path}`).toBe(403);
      expect(result.body.error).toBe('insufficient_scope');
    }
    expect((await call('GET', '/clients/sneaky')).status).toBe(404);
    expect((await call('GET', '/clients/web')).body.name).toBe('Web');
    expect((await call('GET', '/clients/ops-reader')).body.roles).toEqual(['admin']);
  });

  it('audits each change as admin.changed with the operation and the caller, never the values sent', async () => {
    await call('POST', '/clients', { id: 'audited', grantTypes: ['client_credentials'] });
    await call('PATCH', '/clients/audited', { name: 'Audited' });
    await call('POST', '/clients/audited/secret');
    await call('DELETE', '/clients/audited');
    await call('GET', '/clients');
    const events = (await app.deps.audit.list({ limit: 500 })).filter((event) => event.event === 'admin.changed' && JSON.stringify(event.details).includes('audited'));
    expect(events.map((event) => (event.details as { operation: string }).operation).reverse()).toEqual([
      'PATCH /clients/:id', 'POST /clients/:id/secret', 'DELETE /clients/:id',
    ]);
    const created = (await app.deps.audit.list({ limit: 500 })).filter((event) => event.event === 'admin.changed' && (event.details as { operation: string }).operation === 'POST /clients');
    expect(created.length).toBeGreaterThan(0);
    for (const event of events) {
      expect(event).toMatchObject({ reason: 'clients', details: { params: { id: 'audited' }, actor: 'client:ops-admin' } });
      expect(JSON.stringify(event.details)).not.toMatch(/"secret":|Audited/);
    }
  });

  it('names the client schemas in the OpenAPI document', async () => {
    const document = await adminCall(app, null, 'GET', '/openapi.json');
    const text = JSON.stringify(document.body.paths);
    for (const id of ['Client', 'NewClient', 'ClientUpdate', 'ClientWithSecret', 'ClientRoles']) expect(text).toContain(`"#/$defs/${id}"`);
    expect(document.body.paths['/clients/{id}/secret'].post.tags).toEqual(['clients']);
  });
});
