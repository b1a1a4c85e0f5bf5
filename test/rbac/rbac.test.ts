import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { Browser } from '../helpers/browser.ts';
import { seedWebClient, authorizationRequest, signInThroughPages, REDIRECT_URI } from '../helpers/oidc.ts';
import { adminCall, adminToken } from '../helpers/admin.ts';

const API = 'https://reports.api.test/';

/** What a resource server does with a token alone: verify it, then require a role or permission. */
async function resourceServer(app: TestApp, token: string) {
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${app.issuer}/jwks`)), { issuer: app.issuer, audience: API, typ: 'at+jwt' });
  const claims = payload as JWTPayload & { roles?: string[]; permissions?: string[]; scope?: string };
  return {
    claims,
    requireRole: (role: string) => (claims.roles ?? []).includes(role),
    requirePermission: (permission: string) => (claims.permissions ?? []).includes(permission) && (claims.scope ?? '').split(' ').includes(permission),
  };
}

describe('roles and permissions in tokens', () => {
  let app: TestApp;
  let rp: Awaited<ReturnType<typeof seedWebClient>>;
  let accountId: string;
  let refreshToken: string;
  const browser = new Browser();

  beforeAll(async () => {
    app = await startTestApp();
    rp = await seedWebClient(app); // ada@example.com with roles admin, staff
    const { rbac, resources } = app.deps;
    await resources.create({ indicator: API, name: 'Reports', scopes: ['read:reports', 'write:reports', 'delete:users'] });
    for (const name of ['read:reports', 'write:reports', 'delete:users']) await rbac.createPermission({ indicator: API, name });
    await rbac.createRole({ name: 'viewer', description: 'Reads reports' });
    await rbac.createRole({ name: 'editor', description: 'Writes reports' });
    await rbac.createRole({ name: 'superuser' });
    await rbac.grantPermission('viewer', API, 'read:reports');
    await rbac.grantPermission('editor', API, 'write:reports');
    await rbac.grantPermission('superuser', API, 'delete:users');
    await rbac.addComposite('editor', 'viewer');
    await rbac.addComposite('superuser', 'editor');
    accountId = (await app.deps.accounts.findByEmail(rp.email))!.id;
    await rbac.setAccountRoles(accountId, ['editor', 'staff']);
    // The client may ask for every scope of the API; what it gets depends on the person's roles.
    await resources.grant('web-app', API, ['read:reports', 'write:reports', 'delete:users']);
  });
  afterAll(async () => app?.close());

  it('puts effective roles (composites included) in the ID token and userinfo for scope roles', async () => {
    // The API and its scopes are named at /auth so consent covers them; the refresh token then
    // carries them and the API's token comes from a refresh with resource=.
    const request = await authorizationRequest(rp.config, { resource: API, scope: 'openid profile email offline_access roles read:reports write:reports delete:users' });
    const { callback } = await signInThroughPages(browser, request.url, { email: rp.email, password: 'correct horse battery staple' });
    expect(callback.startsWith(REDIRECT_URI)).toBe(true);
    const tokens = await client.authorizationCodeGrant(rp.config, new URL(callback), { pkceCodeVerifier: request.verifier, expectedState: request.state, expectedNonce: request.nonce, idTokenExpected: true });
    expect(tokens.claims()!.roles).toEqual(['editor', 'staff', 'viewer']);
    const info = await client.fetchUserInfo(rp.config, tokens.access_token, tokens.claims()!.sub);
    expect(info.roles).toEqual(['editor', 'staff', 'viewer']);
    refreshToken = tokens.refresh_token!;
  });

  it("gives the API a token whose scope is what the client asked for, limited to the person's permissions", async () => {
    const tokens = await client.refreshTokenGrant(rp.config, refreshToken, { resource: API, scope: 'read:reports write:reports delete:users' });
    refreshToken = tokens.refresh_token!;
    expect(tokens.scope?.split(' ').sort()).toEqual(['read:reports', 'write:reports']);
    const api = await resourceServer(app, tokens.access_token);
    expect(api.claims.permissions).toEqual(['read:reports', 'write:reports']);
    expect(api.requirePermission('write:reports')).toBe(true);
    expect(api.requirePermission('delete:users')).toBe(false);
    expect(api.requireRole('editor')).toBe(true);
    expect(api.requireRole('superuser')).toBe(false);

    // Asking for less gets less.
    const narrow = await client.refreshTokenGrant(rp.config, refreshToken, { resource: API, scope: 'read:reports' });
    refreshToken = narrow.refresh_token!;
    expect((await resourceServer(app, narrow.access_token)).claims.permissions).toEqual(['read:reports']);
  });

  it('a role change applies at the next refresh, without signing in again', async () => {
    await app.deps.rbac.setAccountRoles(accountId, ['viewer']);
    const tokens = await client.refreshTokenGrant(rp.config, refreshToken, { resource: API, scope: 'read:reports write:reports delete:users' });
    refreshToken = tokens.refresh_token!;
    expect((await resourceServer(app, tokens.access_token)).claims).toMatchObject({ scope: 'read:reports', permissions: ['read:reports'], roles: ['viewer'] });
    await app.deps.rbac.setAccountRoles(accountId, ['superuser']);
    const more = await client.refreshTokenGrant(rp.config, refreshToken, { resource: API, scope: 'read:reports write:reports delete:users' });
    refreshToken = more.refresh_token!;
    const superuser = await resourceServer(app, more.access_token);
    expect([...superuser.claims.permissions!].sort()).toEqual(['delete:users', 'read:reports', 'write:reports']);
    expect(superuser.requireRole('viewer')).toBe(true); // superuser includes editor includes viewer
    expect(more.scope!.split(' ').sort()).toEqual(['delete:users', 'read:reports', 'write:reports']);
  });

  it('client-credentials tokens carry what the client\'s roles grant', async () => {
    const { secret } = await app.deps.clients.create({ id: 'report-bot', grantTypes: ['client_credentials'] });
    const bot = new client.Configuration(rp.config.serverMetadata(), 'report-bot', secret!);
    client.allowInsecureRequests(bot);
    // Without roles or a grant the API is out of reach.
    await expect(client.clientCredentialsGrant(bot, { resource: API, scope: 'read:reports' })).rejects.toMatchObject({ error: 'invalid_target' });
    await app.deps.rbac.setClientRoles('report-bot', ['viewer']);
    const tokens = await client.clientCredentialsGrant(bot, { resource: API, scope: 'read:reports write:reports' });
    expect(tokens.scope).toBe('read:reports');
    const api = await resourceServer(app, tokens.access_token);
    expect(api.claims).toMatchObject({ permissions: ['read:reports'], roles: ['viewer'], client_id: 'report-bot' });
  });

  it('refuses a composite that would make a cycle, and a role including itself', async () => {
    await expect(app.deps.rbac.addComposite('viewer', 'superuser')).rejects.toMatchObject({ code: 'role.cycle', status: 409, message: expect.stringMatching(/viewer cannot include superuser.*cycle/) });
    await expect(app.deps.rbac.addComposite('viewer', 'viewer')).rejects.toMatchObject({ code: 'role.cycle' });
    expect((await app.deps.rbac.getRole('viewer')).composites).toEqual([]);
  });

  it('disabling a user through the admin API ends their session and their refresh token fails', async () => {
    const admin = await adminToken(app);
    const result = await adminCall(app, admin, 'POST', `/users/${accountId}/disable`);
    expect(result.status).toBe(200);
    expect(result.body.disabled).toBe(true);
    await expect(client.refreshTokenGrant(rp.config, refreshToken)).rejects.toMatchObject({ error: 'invalid_grant' });
    const silent = await authorizationRequest(rp.config, { prompt: 'none' }, { offline: false });
    const step = await browser.follow(silent.url, REDIRECT_URI);
    expect('url' in step && new URL(step.url).searchParams.get('error')).toBe('login_required');
  });
});
