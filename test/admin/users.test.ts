import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser } from '../helpers/browser.ts';
import { seedWebClient, authorizationRequest, signInThroughPages, PASSWORD, REDIRECT_URI } from '../helpers/oidc.ts';
import { adminCall, adminToken } from '../helpers/admin.ts';
import { adminRoutes } from '../../src/admin/routes/index.ts';

describe('admin API: authorization, users, sessions, stats, OpenAPI', () => {
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;
  let admin: string;

  beforeAll(async () => {
    app = await startTestApp();
    rp = await seedWebClient(app); // ada@example.com holds the admin role
    admin = await adminToken(app);
  });
  afterAll(async () => app?.close());

  it('needs a token (401), the right scope (403), and works for an admin (200)', async () => {
    const none = await adminCall(app, null, 'GET', '/users');
    expect(none.status).toBe(401);
    expect(none.body.error).toBe('unauthorized');
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await adminCall(app, 'not.a.jwt', 'GET', '/users')).status).toBe(401);

    // A token for the admin API without admin scopes (the client holds no role that grants them).
    const plain = await adminToken(app, { roles: [], scope: '' }).catch(() => null);
    if (plain) expect((await adminCall(app, plain, 'GET', '/users')).status).toBe(403);
    const reader = await adminToken(app, { scope: 'admin:read' });
    expect((await adminCall(app, reader, 'GET', '/users')).status).toBe(200);
    const denied = await adminCall(app, reader, 'POST', '/users', { email: 'x@example.com' });
    expect(denied.status).toBe(403);
    expect(denied.body.error).toBe('insufficient_scope');
    expect(denied.headers.get('www-authenticate')).toContain('admin:write');

    expect((await adminCall(app, admin, 'GET', '/users')).status).toBe(200);
  });

  it("refuses a token issued for another API, and a person's token once the account is disabled", async () => {
    const other = 'https://other.api.test/';
    await app.deps.resources.create({ indicator: other, scopes: ['admin:read'] });
    const { secret } = await app.deps.clients.create({ id: 'other-bot', grantTypes: ['client_credentials'] });
    await app.deps.resources.grant('other-bot', other, ['admin:read']);
    const response = await fetch(`${app.issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`other-bot:${secret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: other, scope: 'admin:read' }),
    });
    const { access_token: wrongAudience } = await response.json() as { access_token: string };
    expect((await adminCall(app, wrongAudience, 'GET', '/users')).status).toBe(401);

    // A person with the admin role signs in to an admin console (the web app here) and calls the API.
    await app.deps.resources.grant('web-app', app.deps.adminResource, ['admin:read', 'admin:write']);
    const person = await app.deps.accounts.create({ email: 'ops@example.com', password: PASSWORD, emailVerified: true, roles: ['admin'] });
    const request = await authorizationRequest(rp.config, { resource: app.deps.adminResource, scope: 'openid offline_access admin:read' });
    const { callback } = await signInThroughPages(new Browser(), request.url, { email: 'ops@example.com', password: PASSWORD });
    const code = await client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true });
    const tokens = await client.refreshTokenGrant(rp.config, code.refresh_token!, { resource: app.deps.adminResource, scope: 'admin:read' });
    expect((await adminCall(app, tokens.access_token, 'GET', '/users')).status).toBe(200);
    expect((await adminCall(app, admin, 'POST', `/users/${person.id}/disable`)).status).toBe(200);
    expect((await adminCall(app, tokens.access_token, 'GET', '/users')).status).toBe(401);
  });

  it('creates, reads, updates, sets roles, and deletes a user; errors are JSON with stable codes', async () => {
    const created = await adminCall(app, admin, 'POST', '/users', { email: 'New.User@Example.com', password: 'new user passphrase', name: 'New User', roles: ['staff'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ email: 'new.user@example.com', name: 'New User', roles: ['staff'], hasPassword: true, disabled: false });
    expect(JSON.stringify(created.body)).not.toContain('argon2');
    const id = created.body.id as string;

    expect((await adminCall(app, admin, 'PATCH', `/users/${id}`, { givenName: 'New', locale: 'en-GB' })).body).toMatchObject({ givenName: 'New', locale: 'en-GB' });
    expect((await adminCall(app, admin, 'PUT', `/users/${id}/roles`, { roles: ['admin'] })).body.roles).toEqual(['admin']);

    const duplicate = await adminCall(app, admin, 'POST', '/users', { email: 'new.user@example.com' });
    expect(duplicate).toMatchObject({ status: 409, body: { error: 'account.email_taken' } });
    expect(await adminCall(app, admin, 'POST', '/users', { email: 'not-an-email' })).toMatchObject({ status: 400, body: { error: 'account.invalid', message: expect.stringMatching(/email/) } });
    expect(await adminCall(app, admin, 'POST', '/users', { email: 'a@example.com', admin: true })).toMatchObject({ status: 400, body: { error: 'request.invalid', message: expect.stringMatching(/body.*admin/) } });
    expect(await adminCall(app, admin, 'POST', '/users', { email: 'b@example.com', password: 'password1' })).toMatchObject({ status: 400, body: { error: 'account.invalid_password' } });
    expect(await adminCall(app, admin, 'PUT', `/users/${id}/roles`, { roles: ['no-such-role'] })).toMatchObject({ status: 404, body: { error: 'role.not_found' } });
    expect(await adminCall(app, admin, 'GET', '/users/not-a-uuid')).toMatchObject({ status: 400, body: { error: 'request.invalid', message: expect.stringMatching(/^path\.id/) } });
    expect(await adminCall(app, admin, 'GET', '/users/00000000-0000-4000-8000-000000000000')).toMatchObject({ status: 404, body: { error: 'account.not_found' } });
    expect(await adminCall(app, admin, 'GET', '/users?cursor=garbage')).toMatchObject({ status: 400, body: { error: 'request.invalid_cursor' } });
    expect(await adminCall(app, admin, 'GET', '/nothing-here')).toMatchObject({ status: 404, body: { error: 'not_found' } });
    const raw = await fetch(`${app.issuer}/admin/api/v1/users`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' }, body: '{"email": ' });
    expect(raw.status).toBe(400);
    expect((await raw.json() as { error: string }).error).toBe('request.invalid');

    expect((await adminCall(app, admin, 'DELETE', `/users/${id}`)).status).toBe(204);
    expect((await adminCall(app, admin, 'GET', `/users/${id}`)).status).toBe(404);
  });

  it('pages users in a stable order while others are being added', async () => {
    for (let i = 0; i < 7; i++) await app.deps.accounts.create({ email: `page-${i}@list.test`, name: `Pager ${i}` });
    // The order of one big page before anything else is added: (creation time, id).
    const whole = (await adminCall(app, admin, 'GET', '/users?search=page-&limit=200')).body.items.map((user: { email: string }) => user.email);
    expect([...whole].sort()).toEqual([0, 1, 2, 3, 4, 5, 6].map((i) => `page-${i}@list.test`));
    const seen: string[] = [];
    let cursor: string | null = null;
    let added = 0;
    do {
      const page: { status: number; body: { items: Array<{ email: string }>; nextCursor: string | null } } = await adminCall(app, admin, 'GET', `/users?search=list.test&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((user) => user.email));
      cursor = page.body.nextCursor;
      // Someone signs up between pages.
      if (added < 2) await app.deps.accounts.create({ email: `late-${added++}@list.test` });
    } while (cursor);
    expect(seen.filter((email) => email.startsWith('page-'))).toEqual(whole);
    expect(new Set(seen).size).toBe(seen.length);
    // Search matches names too, case-insensitively.
    expect((await adminCall(app, admin, 'GET', '/users?search=PAGER%203')).body.items.map((user: { email: string }) => user.email)).toEqual(['page-3@list.test']);
  });

  it("lists a user's sessions and grants, revokes one grant, then everything", async () => {
    const browser = new Browser();
    const request = await authorizationRequest(rp.config);
    const { callback } = await signInThroughPages(browser, request.url, { email: rp.email, password: PASSWORD });
    const tokens = await client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true });
    const ada = (await app.deps.accounts.findByEmail(rp.email))!;

    const listed = await adminCall(app, admin, 'GET', `/users/${ada.id}/sessions`);
    expect(listed.status).toBe(200);
    expect(listed.body.sessions).toHaveLength(1);
    expect(listed.body.sessions[0].clients).toEqual(['web-app']);
    expect(listed.body.grants).toHaveLength(1);
    expect(listed.body.grants[0]).toMatchObject({ clientId: 'web-app', scopes: expect.arrayContaining(['openid', 'email', 'offline_access']) });
    expect(Date.parse(listed.body.grants[0].lastUsedAt)).toBeGreaterThan(0);

    const stats = await adminCall(app, admin, 'GET', '/stats');
    expect(stats.body).toMatchObject({ activeSessions: expect.any(Number), clients: expect.any(Number), users: expect.any(Number) });
    expect(stats.body.activeSessions).toBeGreaterThanOrEqual(1);

    expect((await adminCall(app, admin, 'DELETE', `/users/${ada.id}/grants/${listed.body.grants[0].id}`)).status).toBe(204);
    await expect(client.refreshTokenGrant(rp.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await adminCall(app, admin, 'DELETE', `/users/${ada.id}/grants/${listed.body.grants[0].id}`)).status).toBe(404);

    const all = await adminCall(app, admin, 'DELETE', `/users/${ada.id}/sessions`);
    expect(all.status).toBe(200);
    expect(all.body.revoked).toBeGreaterThanOrEqual(1);
    const silent = await authorizationRequest(rp.config, { prompt: 'none' }, { offline: false });
    const step = await browser.follow(silent.url, REDIRECT_URI);
    expect('url' in step && new URL(step.url).searchParams.get('error')).toBe('login_required');
    expect((await adminCall(app, admin, 'GET', `/users/${ada.id}/sessions`)).body).toEqual({ sessions: [], grants: [] });
    expect((await adminCall(app, admin, 'GET', '/stats')).body.activeSessions).toBe(stats.body.activeSessions - 1);
  });

  it('publishes an OpenAPI 3.1 document that names every route', async () => {
    const response = await fetch(`${app.issuer}/admin/api/v1/openapi.json`);
    expect(response.status).toBe(200);
    const document = JSON.parse(await response.text()) as { openapi: string; paths: Record<string, Record<string, { responses: object; security: unknown }>> };
    expect(document.openapi).toBe('3.1.0');
    for (const route of adminRoutes) {
      const path = route.path.replace(/:(\w+)/g, '{$1}');
      expect(document.paths[path]?.[route.method], `${route.method} ${path}`).toMatchObject({ responses: expect.any(Object), security: [{ bearer: [route.scope] }] });
    }
    const count = Object.values(document.paths).reduce((sum, methods) => sum + Object.keys(methods).length, 0);
    expect(count).toBe(adminRoutes.length);
  });
});
