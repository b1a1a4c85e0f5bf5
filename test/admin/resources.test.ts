import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { adminCall, adminToken } from '../helpers/admin.ts';

const API = 'https://orders.resources.test/v1';
const at = (indicator: string) => `/resources/${encodeURIComponent(indicator)}`;

/** A client-credentials token request as a service would make it. */
async function clientCredentials(app: TestApp, clientId: string, secret: string, params: Record<string, string> = {}) {
  const response = await fetch(`${app.issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...params }),
  });
  return { status: response.status, body: await response.json() as { access_token?: string; scope?: string; expires_in?: number; error?: string; error_description?: string } };
}

describe('admin API: API resources', () => {
  let app: TestApp;
  let token: string;
  let readOnly: string;
  const call = (method: string, path: string, body?: unknown) => adminCall(app, token, method, path, body);

  beforeAll(async () => {
    app = await startTestApp();
    [token, readOnly] = await Promise.all([adminToken(app), adminToken(app, { scope: 'admin:read' })]);
  });
  afterAll(async () => app?.close());

  it('creates, reads, lists, updates and deletes a resource addressed by its URL-encoded indicator', async () => {
    const created = await call('POST', '/resources', { indicator: 'https://crud.resources.test/api?v=1', name: 'CRUD', scopes: ['a', 'b', 'a'] });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ indicator: 'https://crud.resources.test/api?v=1', name: 'CRUD', scopes: ['a', 'b'], accessTokenTtl: 3600, createdAt: expect.any(String) });

    const path = at('https://crud.resources.test/api?v=1');
    expect(await call('GET', path)).toMatchObject({ status: 200, body: created.body });
    const list = await call('GET', '/resources');
    expect(list.body.items.map((resource: { indicator: string }) => resource.indicator)).toEqual([`${app.issuer}/account/api`, app.deps.adminResource, 'https://crud.resources.test/api?v=1']);

    const patched = await call('PATCH', path, { name: 'Renamed', accessTokenTtl: 600 });
    expect(patched).toMatchObject({ status: 200, body: { name: 'Renamed', scopes: ['a', 'b'], accessTokenTtl: 600 } });
    expect((await call('PATCH', path, { scopes: ['b', 'c'] })).body).toMatchObject({ name: 'Renamed', scopes: ['b', 'c'], accessTokenTtl: 600 });
    expect((await call('PATCH', path, { name: null })).body.name).toBeNull();
    expect((await call('GET', path)).body).toMatchObject({ name: null, scopes: ['b', 'c'], accessTokenTtl: 600 });

    expect((await call('DELETE', path)).status).toBe(204);
    expect(await call('GET', path)).toMatchObject({ status: 404, body: { error: 'resource.not_found', message: 'no API resource https://crud.resources.test/api?v=1' } });
  });

  it('answers 404 for unknown resources and 409 for a duplicate indicator', async () => {
    const ghost = at('https://ghost.resources.test/');
    for (const [method, path, body] of [
      ['GET', ghost, undefined], ['PATCH', ghost, { name: 'x' }], ['DELETE', ghost, undefined], ['GET', `${ghost}/grants`, undefined],
      ['PUT', `${ghost}/grants/someone`, { scopes: [] }], ['DELETE', `${ghost}/grants/someone`, undefined],
    ] as const) {
      expect(await call(method, path, body), `${method} ${path}`).toMatchObject({ status: 404, body: { error: 'resource.not_found' } });
    }
    expect((await call('POST', '/resources', { indicator: 'https://twice.resources.test/', scopes: [] })).status).toBe(201);
    expect(await call('POST', '/resources', { indicator: 'https://twice.resources.test/', scopes: ['x'] })).toMatchObject({
      status: 409, body: { error: 'resource.exists', message: 'resource https://twice.resources.test/ already exists' },
    });
  });

  it('refuses invalid input with 400 and a message naming the field', async () => {
    const cases: Array<[string, string, unknown, string, RegExp]> = [
      ['POST', '/resources', { scopes: [] }, 'request.invalid', /^body\.indicator: /],
      ['POST', '/resources', { indicator: 'https://x.resources.test/' }, 'request.invalid', /^body\.scopes: /],
      ['POST', '/resources', { indicator: 'https://x.resources.test/', scopes: 'read' }, 'request.invalid', /^body\.scopes: /],
      ['POST', '/resources', { indicator: 'https://x.resources.test/', scopes: [], accessTokenTtl: 0 }, 'request.invalid', /^body\.accessTokenTtl: /],
      ['POST', '/resources', { indicator: 'https://x.resources.test/', scopes: [], accessTokenTtl: 1.5 }, 'request.invalid', /^body\.accessTokenTtl: /],
      ['POST', '/resources', { indicator: 'https://x.resources.test/', scopes: [], accessTokenTtl: 86_401 }, 'request.invalid', /^body\.accessTokenTtl: /],
      ['POST', '/resources', { indicator: 'https://x.resources.test/', scopes: [], ttl: 60 }, 'request.invalid', /^body: .*"ttl"/],
      ['POST', '/resources', { indicator: 'not a url', scopes: [] }, 'resource.invalid_indicator', /^indicator: .*absolute URI/],
      ['POST', '/resources', { indicator: 'https://x.resources.test/#frag', scopes: [] }, 'resource.invalid_indicator', /^indicator: .*without a fragment/],
      ['POST', '/resources', { indicator: 'https://x.resources.test/', scopes: ['read write'] }, 'resource.invalid_scope', /^scopes: invalid scope name "read write"/],
      ['PATCH', at(app.deps.adminResource), { indicator: 'https://elsewhere.test/' }, 'request.invalid', /^body: .*"indicator"/],
      ['PATCH', at(app.deps.adminResource), { scopes: ['admin:read', 'admin:write', 'bad"scope'] }, 'resource.invalid_scope', /^scopes: /],
      ['PATCH', at(app.deps.adminResource), { accessTokenTtl: -5 }, 'request.invalid', /^body\.accessTokenTtl: /],
    ];
    for (const [method, path, body, error, message] of cases) {
      const result = await call(method, path, body);
      expect(result.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
      expect(result.body.error).toBe(error);
      expect(result.body.message).toMatch(message);
    }
    expect((await call('GET', at('https://x.resources.test/'))).status).toBe(404);
  });

  it("refuses to delete, rename or take scopes from the admin API's own resource", async () => {
    const admin = at(app.deps.adminResource);
    expect(await call('DELETE', admin)).toMatchObject({ status: 409, body: { error: 'resource.protected', message: `${app.deps.adminResource} is this provider's admin API; it cannot be deleted` } });
    expect(await call('PATCH', admin, { name: 'Mine now' })).toMatchObject({ status: 409, body: { error: 'resource.protected', message: expect.stringContaining('cannot be renamed') } });
    expect(await call('PATCH', admin, { scopes: ['admin:read'] })).toMatchObject({ status: 409, body: { error: 'resource.protected', message: expect.stringContaining('admin:write cannot be removed') } });
    // Its token lifetime may change, and repeating its name is no rename.
    expect(await call('PATCH', admin, { name: 'Admin API', accessTokenTtl: 300 })).toMatchObject({ status: 200, body: { name: 'Admin API', scopes: ['admin:read', 'admin:write'], accessTokenTtl: 300 } });
    expect((await call('GET', '/permissions?resource=' + encodeURIComponent(app.deps.adminResource))).body.items).toHaveLength(2);
    expect((await adminToken(app)).length).toBeGreaterThan(0);
  });

  it('a client, resource and grant made through the API are used by the very next token request, and so are later changes', async () => {
    // A service client, an API with three scopes, and a grant of two of them.
    const { body: created } = await call('POST', '/clients', { id: 'billing', grantTypes: ['client_credentials'] });
    expect((await call('POST', '/resources', { indicator: API, name: 'Orders', scopes: ['orders:read', 'orders:write', 'orders:refund'], accessTokenTtl: 300 })).status).toBe(201);
    const grant = await call('PUT', `${at(API)}/grants/billing`, { scopes: ['orders:read', 'orders:write'] });
    expect(grant).toMatchObject({ status: 200, body: { clientId: 'billing', resource: API, scopes: ['orders:read', 'orders:write'] } });

    const first = await clientCredentials(app, 'billing', created.secret, { resource: API, scope: 'orders:read orders:write orders:refund' });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ scope: 'orders:read orders:write', expires_in: 300 });
    expect(decodeJwt(first.body.access_token!)).toMatchObject({ aud: API, client_id: 'billing', scope: 'orders:read orders:write', permissions: ['orders:read', 'orders:write'] });

    // A role holding orders:refund, given to the client, adds that scope.
    const refund = await call('POST', '/permissions', { resource: API, name: 'orders:refund' });
    const readPermission = await call('POST', '/permissions', { resource: API, name: 'orders:read' });
    await call('POST', '/roles', { name: 'refunder' });
    await call('PUT', `/roles/refunder/permissions/${refund.body.id}`);
    await call('PUT', `/roles/refunder/permissions/${readPermission.body.id}`);
    await call('PUT', '/clients/billing/roles', { roles: ['refunder'] });
    const withRole = await clientCredentials(app, 'billing', created.secret, { resource: API, scope: 'orders:read orders:write orders:refund' });
    expect(withRole.body.scope).toBe('orders:read orders:write orders:refund');
    expect(decodeJwt(withRole.body.access_token!)).toMatchObject({ roles: ['refunder'] });

    // Shrinking the scopes removes the permissions and grants of the scopes that went, at once.
    const shrunk = await call('PATCH', at(API), { scopes: ['orders:read'], accessTokenTtl: 120 });
    expect(shrunk).toMatchObject({ status: 200, body: { scopes: ['orders:read'], accessTokenTtl: 120 } });
    expect((await call('GET', `/permissions?resource=${encodeURIComponent(API)}`)).body.items.map((p: { name: string }) => p.name)).toEqual(['orders:read']);
    expect((await call('GET', '/roles/refunder')).body.permissions).toEqual([{ id: readPermission.body.id, indicator: API, name: 'orders:read' }]);
    expect((await call('GET', `${at(API)}/grants`)).body.items).toEqual([{ clientId: 'billing', resource: API, scopes: ['orders:read'] }]);
    const after = await clientCredentials(app, 'billing', created.secret, { resource: API, scope: 'orders:read orders:write orders:refund' });
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({ scope: 'orders:read', expires_in: 120 });
    expect(decodeJwt(after.body.access_token!)).toMatchObject({ scope: 'orders:read', permissions: ['orders:read'] });

    // Growing them again gives nothing by itself: grants and permissions are not restored.
    await call('PATCH', at(API), { scopes: ['orders:read', 'orders:write'] });
    expect((await clientCredentials(app, 'billing', created.secret, { resource: API, scope: 'orders:read orders:write' })).body.scope).toBe('orders:read');
    await call('PUT', `${at(API)}/grants/billing`, { scopes: ['orders:read', 'orders:write'] });
    expect((await clientCredentials(app, 'billing', created.secret, { resource: API, scope: 'orders:read orders:write' })).body.scope).toBe('orders:read orders:write');

    // Rotating the secret: the old one is refused at once, the new one works.
    const rotated = await call('POST', '/clients/billing/secret');
    expect(rotated.status).toBe(200);
    expect(await clientCredentials(app, 'billing', created.secret, { resource: API, scope: 'orders:read' })).toMatchObject({ status: 401, body: { error: 'invalid_client' } });
    expect(await clientCredentials(app, 'billing', rotated.body.secret, { resource: API, scope: 'orders:read' })).toMatchObject({ status: 200, body: { scope: 'orders:read' } });

    // Without the grant the role still permits orders:read; deleting the resource ends that too.
    expect((await call('DELETE', `${at(API)}/grants/billing`)).status).toBe(204);
    expect(await call('DELETE', `${at(API)}/grants/billing`)).toMatchObject({ status: 404, body: { error: 'resource.grant_not_found' } });
    expect((await clientCredentials(app, 'billing', rotated.body.secret, { resource: API, scope: 'orders:read' })).body.scope).toBe('orders:read');
    expect((await call('DELETE', at(API))).status).toBe(204);
    expect((await call('GET', '/roles/refunder')).body.permissions).toEqual([]);
    expect(await clientCredentials(app, 'billing', rotated.body.secret, { resource: API, scope: 'orders:read' })).toMatchObject({ status: 400, body: { error: 'invalid_target' } });
  });

  it('refuses grants of scopes the resource does not have, and grants to unknown clients', async () => {
    const indicator = 'https://grants.resources.test/';
    await call('POST', '/resources', { indicator, scopes: ['read'] });
    await call('POST', '/clients', { id: 'grantee', grantTypes: ['client_credentials'] });
    expect(await call('PUT', `${at(indicator)}/grants/grantee`, { scopes: ['read', 'write'] })).toMatchObject({ status: 400, body: { error: 'resource.invalid_scope', message: expect.stringContaining('has no scope write') } });
    expect(await call('PUT', `${at(indicator)}/grants/nobody`, { scopes: ['read'] })).toMatchObject({ status: 404, body: { error: 'client.not_found' } });
    expect(await call('PUT', `${at(indicator)}/grants/grantee`, { scopes: ['read'], extra: 1 })).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^body: .*"extra"/) } });
    expect((await call('GET', `${at(indicator)}/grants`)).body.items).toEqual([]);
  });

  it('a token with only admin:read can read but not change resources', async () => {
    const indicator = 'https://readonly.resources.test/';
    await call('POST', '/resources', { indicator, scopes: ['x'] });
    await call('POST', '/clients', { id: 'ro-target', grantTypes: ['client_credentials'] });
    expect((await adminCall(app, readOnly, 'GET', '/resources')).status).toBe(200);
    expect((await adminCall(app, readOnly, 'GET', at(indicator))).status).toBe(200);
    expect((await adminCall(app, readOnly, 'GET', `${at(indicator)}/grants`)).status).toBe(200);
    for (const [method, path, body] of [
      ['POST', '/resources', { indicator: 'https://sneaky.resources.test/', scopes: [] }], ['PATCH', at(indicator), { scopes: [] }], ['DELETE', at(indicator), undefined],
      ['PUT', `${at(indicator)}/grants/ro-target`, { scopes: ['x'] }], ['DELETE', `${at(indicator)}/grants/ro-target`, undefined],
    ] as const) {
      const result = await adminCall(app, readOnly, method, path, body);
      expect(result.status, `${method} ${path}`).toBe(403);
      expect(result.body.error).toBe('insufficient_scope');
    }
    expect((await call('GET', at(indicator))).body.scopes).toEqual(['x']);
    expect((await call('GET', at('https://sneaky.resources.test/'))).status).toBe(404);
  });

  it('names the resource schemas in the OpenAPI document', async () => {
    const document = await adminCall(app, null, 'GET', '/openapi.json');
    const text = JSON.stringify(document.body.paths);
    for (const id of ['Resource', 'NewResource', 'ResourceUpdate', 'ResourceGrant']) expect(text).toContain(`"#/$defs/${id}"`);
    expect(document.body.paths['/resources/{indicator}'].patch.tags).toEqual(['resources']);
  });
});
