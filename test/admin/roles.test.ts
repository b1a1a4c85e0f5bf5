import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { adminCall, adminToken } from '../helpers/admin.ts';

const API = 'https://reports.roles.test/';

describe('admin API: roles and permissions', () => {
  let app: TestApp;
  let token: string;
  let readOnly: string;
  const call = (method: string, path: string, body?: unknown) => adminCall(app, token, method, path, body);

  beforeAll(async () => {
    app = await startTestApp();
    [token, readOnly] = await Promise.all([adminToken(app), adminToken(app, { scope: 'admin:read' })]);
    const created = await call('POST', '/resources', { indicator: API, name: 'Reports', scopes: ['read:reports', 'write:reports'] });
    expect(created.status).toBe(201);
  });
  afterAll(async () => app?.close());

  it('creates, reads, lists, updates and deletes a role', async () => {
    const created = await call('POST', '/roles', { name: 'viewer', description: 'Reads reports' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'viewer', description: 'Reads reports', composites: [], permissions: [] });
    expect(created.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Date(created.body.createdAt).getTime()).not.toBeNaN();

    const list = await call('GET', '/roles');
    expect(list.status).toBe(200);
    // `admin` is created at startup with the admin API's permissions.
    expect(list.body.items.map((role: { name: string }) => role.name)).toEqual(['admin', 'viewer']);
    const admin = list.body.items.find((role: { name: string }) => role.name === 'admin');
    expect(admin.permissions.map((p: { name: string }) => p.name)).toEqual(['admin:read', 'admin:write']);

    expect(await call('GET', '/roles/viewer')).toMatchObject({ status: 200, body: { name: 'viewer', description: 'Reads reports' } });

    const patched = await call('PATCH', '/roles/viewer', { description: 'Reads every report' });
    expect(patched).toMatchObject({ status: 200, body: { name: 'viewer', description: 'Reads every report' } });
    expect((await call('PATCH', '/roles/viewer', { description: null })).body.description).toBeNull();

    const deleted = await call('DELETE', '/roles/viewer');
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBeUndefined();
    expect(await call('GET', '/roles/viewer')).toMatchObject({ status: 404, body: { error: 'role.not_found', message: 'no role named viewer' } });
  });

  it('answers 404 for unknown roles and 409 for a duplicate name', async () => {
    for (const [method, path, body] of [
      ['GET', '/roles/ghost', undefined], ['PATCH', '/roles/ghost', { description: 'x' }], ['DELETE', '/roles/ghost', undefined],
      ['PUT', '/roles/ghost/composites/admin', undefined], ['PUT', '/roles/admin/composites/ghost', undefined],
    ] as const) {
      expect(await call(method, path, body), `${method} ${path}`).toMatchObject({ status: 404, body: { error: 'role.not_found' } });
    }
    expect((await call('POST', '/roles', { name: 'dup' })).status).toBe(201);
    expect(await call('POST', '/roles', { name: 'dup' })).toMatchObject({ status: 409, body: { error: 'role.exists', message: 'role dup already exists' } });
  });

  it('refuses invalid input with 400 and a message naming the field', async () => {
    const cases: Array<[string, string, unknown, RegExp]> = [
      ['POST', '/roles', {}, /^body\.name: /],
      ['POST', '/roles', { name: 'has space' }, /^body\.name: role names are 1-64 letters/],
      ['POST', '/roles', { name: '-leading' }, /^body\.name: /],
      ['POST', '/roles', { name: 'x'.repeat(65) }, /^body\.name: /],
      ['POST', '/roles', { name: 'ok', description: 42 }, /^body\.description: /],
      ['POST', '/roles', { name: 'ok', extra: true }, /^body: .*"extra"/],
      ['PATCH', '/roles/admin', {}, /^body\.description: /],
      ['PATCH', '/roles/admin', { description: 'x', name: 'renamed' }, /^body: .*"name"/],
      ['GET', '/roles/bad%20name', undefined, /^path\.name: /],
      ['PUT', '/roles/admin/composites/bad%20child', undefined, /^path\.child: /],
      ['PUT', '/roles/admin/permissions/not-a-uuid', undefined, /^path\.permissionId: /],
      ['POST', '/permissions', { resource: API }, /^body\.name: /],
      ['POST', '/permissions', { name: 'read:reports' }, /^body\.resource: /],
      ['DELETE', '/permissions/42', undefined, /^path\.id: /],
    ];
    for (const [method, path, body, message] of cases) {
      const result = await call(method, path, body);
      expect(result.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
      expect(result.body.error).toBe('request.invalid');
      expect(result.body.message).toMatch(message);
    }
    expect((await call('GET', '/roles/ok')).status).toBe(404);
  });

  it('builds composite roles and refuses a cycle, naming the roles', async () => {
    for (const name of ['role-a', 'role-b', 'role-c']) expect((await call('POST', '/roles', { name })).status).toBe(201);

    const ab = await call('PUT', '/roles/role-a/composites/role-b');
    expect(ab).toMatchObject({ status: 200, body: { name: 'role-a', composites: ['role-b'] } });
    // Adding it again changes nothing.
    expect((await call('PUT', '/roles/role-a/composites/role-b')).body.composites).toEqual(['role-b']);
    expect((await call('PUT', '/roles/role-b/composites/role-c')).body.composites).toEqual(['role-c']);

    const cycle = await call('PUT', '/roles/role-c/composites/role-a');
    expect(cycle.status).toBe(409);
    expect(cycle.body.error).toBe('role.cycle');
    expect(cycle.body.message).toContain('role-c cannot include role-a');
    expect(cycle.body.message).toContain('role-a already includes role-c');
    expect((await call('GET', '/roles/role-c')).body.composites).toEqual([]);

    const self = await call('PUT', '/roles/role-a/composites/role-a');
    expect(self).toMatchObject({ status: 409, body: { error: 'role.cycle', message: 'a role cannot include itself (role-a)' } });

    // The list shows direct composites only.
    const list = (await call('GET', '/roles')).body.items as Array<{ name: string; composites: string[] }>;
    expect(Object.fromEntries(list.map((role) => [role.name, role.composites]))).toMatchObject({ 'role-a': ['role-b'], 'role-b': ['role-c'], 'role-c': [] });

    expect((await call('DELETE', '/roles/role-a/composites/role-b')).body.composites).toEqual([]);
    expect(await call('DELETE', '/roles/role-a/composites/role-b')).toMatchObject({ status: 404, body: { error: 'role.not_member', message: 'role-a does not include role-b' } });
    // With a→b gone, c→a no longer closes a loop.
    expect((await call('PUT', '/roles/role-c/composites/role-a')).status).toBe(200);
    // Deleting a role removes it from the roles that included it.
    expect((await call('DELETE', '/roles/role-a')).status).toBe(204);
    expect((await call('GET', '/roles/role-c')).body.composites).toEqual([]);
  });

  it('creates permissions from a resource scope, grants and revokes them by id, and deletes them', async () => {
    const read = await call('POST', '/permissions', { resource: API, name: 'read:reports', description: 'Read reports' });
    expect(read.status).toBe(201);
    expect(read.body).toMatchObject({ resource: API, name: 'read:reports', description: 'Read reports' });
    const write = await call('POST', '/permissions', { resource: API, name: 'write:reports' });
    expect(write.body).toMatchObject({ resource: API, name: 'write:reports', description: null });

    expect(await call('POST', '/permissions', { resource: API, name: 'read:reports' })).toMatchObject({ status: 409, body: { error: 'permission.exists' } });
    const unknownScope = await call('POST', '/permissions', { resource: API, name: 'delete:reports' });
    expect(unknownScope).toMatchObject({ status: 400, body: { error: 'permission.unknown_scope' } });
    expect(unknownScope.body.message).toContain('read:reports write:reports');
    expect(await call('POST', '/permissions', { resource: 'https://nowhere.test/', name: 'x' })).toMatchObject({ status: 404, body: { error: 'resource.not_found' } });

    const mine = await call('GET', `/permissions?resource=${encodeURIComponent(API)}`);
    expect(mine.body.items.map((p: { name: string }) => p.name)).toEqual(['read:reports', 'write:reports']);
    const all = await call('GET', '/permissions');
    expect(all.body.items.map((p: { resource: string; name: string }) => `${p.resource} ${p.name}`)).toEqual([
      `${app.deps.adminResource} admin:read`, `${app.deps.adminResource} admin:write`, `${API} read:reports`, `${API} write:reports`,
    ]);
    expect(await call('GET', `/permissions/${read.body.id}`)).toMatchObject({ status: 200, body: { id: read.body.id, name: 'read:reports' } });

    expect((await call('POST', '/roles', { name: 'editor' })).status).toBe(201);
    const granted = await call('PUT', `/roles/editor/permissions/${read.body.id}`);
    expect(granted).toMatchObject({ status: 200, body: { name: 'editor', permissions: [{ id: read.body.id, indicator: API, name: 'read:reports' }] } });
    expect((await call('PUT', `/roles/editor/permissions/${read.body.id}`)).body.permissions).toHaveLength(1);
    const both = await call('PUT', `/roles/editor/permissions/${write.body.id}`);
    expect(both.body.permissions.map((p: { name: string }) => p.name)).toEqual(['read:reports', 'write:reports']);

    const revoked = await call('DELETE', `/roles/editor/permissions/${read.body.id}`);
    expect(revoked.body.permissions.map((p: { name: string }) => p.name)).toEqual(['write:reports']);
    expect(await call('DELETE', `/roles/editor/permissions/${read.body.id}`)).toMatchObject({
      status: 404, body: { error: 'role.permission_not_granted', message: `editor does not hold read:reports on ${API}` },
    });
    const ghost = '00000000-0000-4000-8000-000000000000';
    expect(await call('PUT', `/roles/editor/permissions/${ghost}`)).toMatchObject({ status: 404, body: { error: 'permission.not_found' } });
    expect(await call('PUT', `/roles/ghost/permissions/${write.body.id}`)).toMatchObject({ status: 404, body: { error: 'role.not_found' } });

    // Deleting a permission takes it from every role.
    expect((await call('DELETE', `/permissions/${write.body.id}`)).status).toBe(204);
    expect((await call('GET', '/roles/editor')).body.permissions).toEqual([]);
    expect(await call('GET', `/permissions/${write.body.id}`)).toMatchObject({ status: 404, body: { error: 'permission.not_found' } });
    expect(await call('DELETE', `/permissions/${write.body.id}`)).toMatchObject({ status: 404, body: { error: 'permission.not_found' } });
  });

  it('the existing name-based service methods keep working next to the id-based ones', async () => {
    await app.deps.rbac.createRole({ name: 'cli-role' });
    const details = await app.deps.rbac.grantPermission('cli-role', API, 'read:reports');
    expect(details.permissions).toEqual([{ id: expect.any(String), indicator: API, name: 'read:reports' }]);
    expect((await app.deps.rbac.revokePermission('cli-role', API, 'read:reports')).permissions).toEqual([]);
  });

  it('a token with only admin:read can read but not change anything', async () => {
    expect((await adminCall(app, readOnly, 'GET', '/roles')).status).toBe(200);
    expect((await adminCall(app, readOnly, 'GET', '/permissions')).status).toBe(200);
    const permission = (await call('GET', '/permissions')).body.items[0];
    for (const [method, path, body] of [
      ['POST', '/roles', { name: 'sneaky' }], ['PATCH', '/roles/admin', { description: 'x' }], ['DELETE', '/roles/admin', undefined],
      ['PUT', '/roles/admin/composites/editor', undefined], ['DELETE', '/roles/admin/composites/editor', undefined],
      ['PUT', `/roles/editor/permissions/${permission.id}`, undefined], ['DELETE', `/roles/admin/permissions/${permission.id}`, undefined],
      ['POST', '/permissions', { resource: API, name: 'read:reports' }], ['DELETE', `/permissions/${permission.id}`, undefined],
    ] as const) {
      const result = await adminCall(app, readOnly, method, path, body);
      expect(result.status, `${method} ${path}`).toBe(403);
      expect(result.body).toMatchObject({ error: 'insufficient_scope', message: 'This operation needs the admin:write scope.' });
    }
    expect((await call('GET', '/roles/admin')).body.description).toBe('Administers this identity provider');
    expect((await call('GET', '/roles/sneaky')).status).toBe(404);
    expect((await adminCall(app, null, 'GET', '/roles')).status).toBe(401);
  });

  it('names the role and permission schemas in the OpenAPI document', async () => {
    const document = await adminCall(app, null, 'GET', '/openapi.json');
    const text = JSON.stringify(document.body.paths);
    for (const id of ['Role', 'NewRole', 'RoleUpdate', 'Permission', 'NewPermission']) expect(text).toContain(`"#/$defs/${id}"`);
    expect(document.body.paths['/roles/{name}/composites/{child}'].put.tags).toEqual(['roles']);
    expect(document.body.paths['/permissions'].get.tags).toEqual(['permissions']);
  });
});
