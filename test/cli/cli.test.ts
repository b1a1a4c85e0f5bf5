import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountService, type AccountService } from '../../src/accounts/service.ts';
import { createClientService, type ClientService } from '../../src/clients/service.ts';
import { createResourceService, type ResourceService } from '../../src/resources/service.ts';
import { createRbacService, type RbacService } from '../../src/rbac/service.ts';
import { createSqlAdapterFactory } from '../../src/oidc/adapters/sql.ts';
import { createSqliteAdapterFactory } from '../../src/oidc/adapters/sqlite.ts';
import { createProviderStateFile, type ProviderStateFile } from '../../src/db/state-sqlite.ts';
import { readMigrations } from '../../src/db/migrate.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { parseSince } from '../../src/cli/commands/audit.ts';
import { childEnv, spawnIdp, type CliResult, type Env } from '../helpers/cli.ts';

// The real CLI in a child process against a database of its own. In embedded mode the test
// process owns the PGlite directory, so every command here joins it over the unix socket: the
// same path the CLI takes while the server runs.
//
// Commands that reach the database run one after another, as an operator would type them (test
// /db/embedded.test.ts covers concurrent connections); commands that fail before connecting run
// in parallel.

/** A failed command: the exit code, nothing on stdout, exactly one line on stderr. */
function expectFailure(result: CliResult, code: number, message: RegExp): void {
  expect(result, result.stderr).toMatchObject({ code, stdout: '' });
  expect(result.stderr).toMatch(/^idp: [^\n]+\n$/);
  expect(result.stderr).toMatch(message);
}

function expectSuccess(result: CliResult): void {
  expect(result, result.stderr).toMatchObject({ code: 0, stderr: '' });
}

function parseJson<T>(result: CliResult): T {
  expectSuccess(result);
  expect(result.stdout.trim().split('\n')).toHaveLength(1);
  return JSON.parse(result.stdout) as T;
}

// A process per command, a few seconds each on a slow shared machine: some tests run a dozen.
describe('idp CLI', { timeout: 240_000 }, () => {
  let database: TestDatabase;
  let env: Env;
  let accounts: AccountService;
  let clients: ClientService;
  let resources: ResourceService;
  let rbac: RbacService;
  const idp = (...args: string[]) => spawnIdp(args, env);
  async function idpInSeries<T extends string[][]>(...commands: T): Promise<{ [K in keyof T]: CliResult }> {
    const results: CliResult[] = [];
    for (const args of commands) results.push(await idp(...args));
    return results as { [K in keyof T]: CliResult };
  }

  const annPassword = 'correct horse battery staple';
  let annId = '';
  let webSecret = '';
  const svcSecret = 's'.repeat(20) + 'given-by-operator-1234';

  beforeAll(async () => {
    database = await createTestDatabase({ migrated: false });
    env = childEnv(database.settings);
    accounts = createAccountService(database.db);
    clients = createClientService(database.db, async () => undefined);
    resources = createResourceService(database.db);
    rbac = createRbacService(database.db);
  });

  afterAll(async () => {
    await database?.drop();
  });

  it('migrate applies every migration to a fresh database, then reports it up to date', async () => {
    const first = parseJson<{ applied: string[] }>(await idp('migrate', '--json'));
    expect(first).toEqual({ applied: readMigrations().map((m) => `${m.version}_${m.name}`) });
    expect(first.applied.length).toBeGreaterThan(0);

    const second = await idp('migrate');
    expectSuccess(second);
    expect(second.stdout).toBe('database is up to date\n');
  });

  it('user create prints the account with its roles and without the password hash', async () => {
    const [json, human] = await idpInSeries(
      ['user', 'create', '--email', 'Ann@Example.com', '--password', annPassword, '--name', 'Ann', '--role', 'admin', '--role', 'staff', '--verified', '--json'],
      ['user', 'create', '--email', 'bob@example.com', '--password', 'bobs password 123'],
    );
    const ann = parseJson<Record<string, unknown>>(json);
    expect(ann).toMatchObject({ email: 'ann@example.com', name: 'Ann', emailVerified: true, disabled: false, roles: ['admin', 'staff'] });
    expect(ann.id).toMatch(/^[0-9a-f]{8}-[0-9a-f-]{27}$/);
    expect(Object.keys(ann)).not.toContain('passwordHash');
    expect(json.stdout).not.toContain('$argon2');
    annId = String(ann.id);

    expectSuccess(human);
    expect(human.stdout).toMatch(/^created user bob@example\.com \(id [0-9a-f-]{36}, roles: none\)\n$/);

    const stored = await accounts.findByEmail('ann@example.com');
    expect(stored?.id).toBe(annId);
    expect(await accounts.rolesOf(annId)).toEqual(['admin', 'staff']);
    expect(await accounts.authenticate('bob@example.com', 'bobs password 123')).not.toBeNull();
  });

  it('a duplicate email exits 2 with one line, as text or as JSON', async () => {
    const [text, json] = await idpInSeries(
      ['user', 'create', '--email', 'ann@example.com', '--password', 'another password'],
      ['user', 'create', '--email', 'ANN@example.com', '--password', 'another password', '--json'],
    );
    expectFailure(text, 2, /already exists/);
    expect(json).toMatchObject({ code: 2, stdout: '' });
    expect(json.stderr.endsWith('\n') && json.stderr.trim().split('\n').length === 1).toBe(true);
    expect(JSON.parse(json.stderr)).toEqual({ error: 'account.email_taken', error_description: expect.stringMatching(/already exists/) });
  });

  it('user list shows every account and its roles, never a password hash', async () => {
    const [json, human] = await idpInSeries(['user', 'list', '--json'], ['user', 'list']);
    const users = parseJson<Array<Record<string, unknown>>>(json);
    expect(users.map((user) => user.email).sort()).toEqual(['ann@example.com', 'bob@example.com']);
    expect(users.find((user) => user.email === 'ann@example.com')).toMatchObject({ id: annId, roles: ['admin', 'staff'] });
    expect(users.every((user) => !('passwordHash' in user))).toBe(true);

    expectSuccess(human);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^EMAIL\s+NAME\s+ROLES\s+VERIFIED\s+STATUS\s+ID$/);
    expect(lines.find((line) => line.startsWith('ann@example.com'))).toMatch(/Ann\s+admin,staff\s+yes\s+active\s+/);
    expect(human.stdout + json.stdout).not.toContain('$argon2');
  });

  it('set-password, disable and enable change what sign-in accepts', async () => {
    const newPassword = 'a brand new passphrase';
    const changed = parseJson<{ id: string; email: string }>(await idp('user', 'set-password', '--email', 'ann@example.com', '--password', newPassword, '--json'));
    expect(changed).toMatchObject({ id: annId, email: 'ann@example.com' });
    expect((await accounts.authenticate('ann@example.com', newPassword))?.id).toBe(annId);
    expect(await accounts.authenticate('ann@example.com', annPassword)).toBeNull();

    const disabled = await idp('user', 'disable', '--email', 'ann@example.com');
    expectSuccess(disabled);
    expect(disabled.stdout).toBe('disabled ann@example.com\n');
    expect(await accounts.authenticate('ann@example.com', newPassword)).toBeNull();

    const enabled = parseJson<{ disabled: boolean }>(await idp('user', 'enable', '--email', 'ann@example.com', '--json'));
    expect(enabled.disabled).toBe(false);
    expect((await accounts.authenticate('ann@example.com', newPassword))?.id).toBe(annId);
  });

  it('commands on a missing account exit 2; a too-short password is refused', async () => {
    const [setPassword, disable, shortPassword] = await idpInSeries(
      ['user', 'set-password', '--email', 'nobody@example.com', '--password', 'long enough password'],
      ['user', 'disable', '--email', 'nobody@example.com'],
      ['user', 'set-password', '--email', 'bob@example.com', '--password', 'short'],
    );
    expectFailure(setPassword, 2, /no account with email nobody@example\.com/);
    expectFailure(disable, 2, /no user nobody@example\.com/);
    expectFailure(shortPassword, 2, /at least \d+ characters/);
    expect(await accounts.authenticate('bob@example.com', 'bobs password 123')).not.toBeNull();
  });

  it('user identities lists linked upstream identities; user unlink removes one', async () => {
    await database.db.query(
      "INSERT INTO federated_identities (upstream_id, subject, account_id, email) VALUES ('google', 'g-ann', $1, 'ann@gmail.test'), ('github', '99', $1, 'ann@github.test')",
      [annId],
    );
    const [listed, human, unlinked, again, none] = await idpInSeries(
      ['user', 'identities', '--email', 'ann@example.com', '--json'],
      ['user', 'identities', '--email', 'ann@example.com'],
      ['user', 'unlink', '--email', 'ann@example.com', '--upstream', 'google'],
      ['user', 'unlink', '--email', 'ann@example.com', '--upstream', 'google'],
      ['user', 'identities', '--email', 'nobody@example.com'],
    );
    expect(parseJson<unknown[]>(listed)).toEqual([
      expect.objectContaining({ upstream: 'github', subject: '99', emailAtLink: 'ann@github.test' }),
      expect.objectContaining({ upstream: 'google', subject: 'g-ann', emailAtLink: 'ann@gmail.test' }),
    ]);
    expectSuccess(human);
    expect(human.stdout).toMatch(/^UPSTREAM\s+SUBJECT/);
    expectSuccess(unlinked);
    expect(unlinked.stdout).toBe('unlinked google from ann@example.com\n');
    expectFailure(again, 2, /has no identity linked at google/);
    expectFailure(none, 2, /no account with email nobody@example.com/);
    const { rows } = await database.db.query<{ upstream_id: string }>('SELECT upstream_id FROM federated_identities WHERE account_id = $1', [annId]);
    expect(rows.map((row) => row.upstream_id)).toEqual(['github']);
  });

  it('role create, grant and list', async () => {
    const role = parseJson<Record<string, unknown>>(await idp('role', 'create', '--name', 'auditor', '--description', 'reads the logs', '--json'));
    expect(role).toMatchObject({ name: 'auditor', description: 'reads the logs' });

    const [granted, missingRole, duplicate] = await idpInSeries(
      ['role', 'grant', '--email', 'bob@example.com', '--role', 'auditor', '--json'],
      ['role', 'grant', '--email', 'bob@example.com', '--role', 'nope'],
      ['role', 'create', '--name', 'auditor'],
    );
    expect(parseJson<{ email: string; roles: string[] }>(granted)).toMatchObject({ email: 'bob@example.com', roles: ['auditor'] });
    expectFailure(missingRole, 2, /no role named nope/);
    expectFailure(duplicate, 2, /role auditor already exists/);
    const bob = await accounts.findByEmail('bob@example.com');
    expect(await accounts.rolesOf(bob!.id)).toEqual(['auditor']);

    const list = parseJson<Array<{ name: string }>>(await idp('role', 'list', '--json'));
    expect(list.map((r) => r.name)).toEqual(['admin', 'auditor', 'staff']);
  });

  it('a confidential client without --secret gets a generated secret, printed once', async () => {
    const result = await idp('client', 'create', '--id', 'web', '--redirect-uri', 'https://app.example.com/cb', '--redirect-uri', 'https://app.example.com/cb2',
      '--post-logout-redirect-uri', 'https://app.example.com/', '--name', 'Web', '--auth-method', 'client_secret_post');
    expectSuccess(result);
    expect(result.stdout).toMatch(/^created confidential client web \(client_secret_post\)\n/);
    const match = /^client secret \(shown only this once; store it now\): (\S+)$/m.exec(result.stdout);
    webSecret = match?.[1] ?? '';
    expect(webSecret.length).toBeGreaterThanOrEqual(32);
    expect(result.stdout.split(webSecret)).toHaveLength(2);

    const metadata = await clients.findMetadata('web');
    expect(metadata).toMatchObject({
      client_secret: webSecret,
      token_endpoint_auth_method: 'client_secret_post',
      redirect_uris: ['https://app.example.com/cb', 'https://app.example.com/cb2'],
      post_logout_redirect_uris: ['https://app.example.com/'],
      client_name: 'Web',
    });
  });

  it('a client given its secret does not echo it; client_credentials needs no redirect URI; a public client has no secret', async () => {
    const [service, spa] = await idpInSeries(
      ['client', 'create', '--id', 'svc', '--secret', svcSecret, '--grant-types', 'client_credentials', '--json'],
      ['client', 'create', '--id', 'spa', '--public', '--redirect-uri', 'http://localhost:5173/cb', '--scope', 'openid profile', '--json'],
    );
    expect(parseJson(service)).toMatchObject({ id: 'svc', type: 'confidential', grantTypes: ['client_credentials'], redirectUris: [], secret: null });
    expect(service.stdout).not.toContain(svcSecret);
    expect((await clients.findMetadata('svc'))?.client_secret).toBe(svcSecret);

    expect(parseJson(spa)).toMatchObject({ id: 'spa', type: 'public', authMethod: 'none', scope: 'openid profile', secret: null });
    const spaMetadata = await clients.findMetadata('spa');
    expect(spaMetadata).toMatchObject({ token_endpoint_auth_method: 'none' });
    expect(spaMetadata).not.toHaveProperty('client_secret');
  });

  it('invalid client input exits 2 and stores nothing', async () => {
    const [badUri, badGrant, badMethod, noRedirect, publicWithSecret, duplicate] = await idpInSeries(
      ['client', 'create', '--id', 'bad1', '--redirect-uri', 'not a uri'],
      ['client', 'create', '--id', 'bad2', '--grant-types', 'implicit'],
      ['client', 'create', '--id', 'bad3', '--redirect-uri', 'https://x.example/cb', '--auth-method', 'private_key_jwt'],
      ['client', 'create', '--id', 'bad4'],
      ['client', 'create', '--id', 'bad5', '--public', '--secret', svcSecret, '--redirect-uri', 'https://x.example/cb'],
      ['client', 'create', '--id', 'web', '--redirect-uri', 'https://x.example/cb'],
    );
    expectFailure(badUri, 2, /redirect_uris/);
    expectFailure(badGrant, 2, /unknown grant type implicit/);
    expectFailure(badMethod, 2, /jwks or jwks_uri is mandatory/);
    expectFailure(noRedirect, 2, /--redirect-uri/);
    expectFailure(publicWithSecret, 2, /public client has no secret/);
    expectFailure(duplicate, 2, /client web already exists/);
    for (const id of ['bad1', 'bad2', 'bad3', 'bad4', 'bad5']) expect(await clients.findMetadata(id)).toBeNull();
  });

  it('client list shows ids, names, grant types and redirect URIs, never secrets', async () => {
    const [json, human] = await idpInSeries(['client', 'list', '--json'], ['client', 'list']);
    const list = parseJson<Array<Record<string, unknown>>>(json);
    expect(list.map((client) => client.id)).toEqual(['spa', 'svc', 'web']);
    expect(list.find((client) => client.id === 'web')).toMatchObject({
      name: 'Web', type: 'confidential', grantTypes: ['authorization_code', 'refresh_token'], redirectUris: ['https://app.example.com/cb', 'https://app.example.com/cb2'],
    });
    expect(list.every((client) => !('secret' in client) && !('client_secret' in client))).toBe(true);

    expectSuccess(human);
    expect(human.stdout).toMatch(/^ID\s+NAME\s+TYPE\s+GRANT TYPES\s+REDIRECT URIS\n/);
    expect(human.stdout).toMatch(/^web\s+Web\s+confidential\s+authorization_code,refresh_token\s+https:\/\/app\.example\.com\/cb https:\/\/app\.example\.com\/cb2$/m);
    for (const secret of [webSecret, svcSecret]) {
      expect(json.stdout).not.toContain(secret);
      expect(human.stdout).not.toContain(secret);
    }
  });

  it('client create --metadata takes RFC 7591 fields; client show prints them all, never a secret', async () => {
    const metadata = {
      token_endpoint_auth_method: 'private_key_jwt', jwks_uri: 'https://keys.example.com/jwks', token_endpoint_auth_signing_alg: 'ES256',
      require_pushed_authorization_requests: true, dpop_bound_access_tokens: true, logo_uri: 'https://keys.example.com/logo.png',
    };
    const created = parseJson<Record<string, unknown>>(await idp('client', 'create', '--id', 'corp', '--redirect-uri', 'https://corp.example.com/cb', '--metadata', JSON.stringify(metadata), '--json'));
    expect(created).toMatchObject({ id: 'corp', type: 'confidential', authMethod: 'private_key_jwt', secret: null, metadata: { ...metadata, client_id: 'corp' } });
    expect(await clients.findMetadata('corp')).not.toHaveProperty('client_secret');

    const [json, human] = await idpInSeries(['client', 'show', '--id', 'corp', '--json'], ['client', 'show', '--id', 'corp']);
    expect(parseJson(json)).toMatchObject({ id: 'corp', metadata });
    expectSuccess(human);
    expect(human.stdout).toContain('authenticates with private_key_jwt');
    expect(human.stdout).toContain('"jwks_uri":"https://keys.example.com/jwks"');
    const web = parseJson<{ metadata: Record<string, unknown> }>(await idp('client', 'show', '--id', 'web', '--json'));
    expect(web.metadata).toMatchObject({ client_id: 'web', token_endpoint_auth_method: 'client_secret_post' });
    expect(JSON.stringify(web)).not.toContain(webSecret);
  });

  it('--metadata with an unknown, invalid or reserved field, or one that is not JSON, exits 2 with one line naming it and stores nothing', async () => {
    const redirect = ['--redirect-uri', 'https://x.example/cb'];
    const [unknown, invalid, reserved, twice, notJson, array, plainHttp] = await idpInSeries(
      ['client', 'create', '--id', 'meta1', ...redirect, '--metadata', '{"frobnicate":true}'],
      ['client', 'create', '--id', 'meta2', ...redirect, '--metadata', '{"dpop_bound_access_tokens":"yes"}'],
      ['client', 'create', '--id', 'meta3', ...redirect, '--metadata', '{"client_secret":"s3cr3t"}'],
      ['client', 'create', '--id', 'meta4', ...redirect, '--metadata', '{"redirect_uris":["https://y.example/cb"]}'],
      ['client', 'create', '--id', 'meta5', ...redirect, '--metadata', '{jwks_uri:'],
      ['client', 'create', '--id', 'meta6', ...redirect, '--metadata', '[1]'],
      ['client', 'create', '--id', 'meta7', ...redirect, '--metadata', '{"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"http://keys.example.com/jwks"}'],
    );
    expectFailure(unknown, 2, /metadata\.frobnicate: not a client metadata field/);
    expectFailure(invalid, 2, /dpop_bound_access_tokens must be a boolean/);
    expectFailure(reserved, 2, /metadata\.client_secret: cannot be set here/);
    expectFailure(twice, 2, /metadata\.redirect_uris: given twice/);
    expectFailure(notJson, 2, /--metadata.*not JSON/);
    expectFailure(array, 2, /--metadata.*one JSON object/);
    expectFailure(plainHttp, 2, /metadata\.jwks_uri: .*uses http on keys\.example\.com/);
    for (const id of ['meta1', 'meta2', 'meta3', 'meta4', 'meta5', 'meta6', 'meta7']) expect(await clients.findMetadata(id)).toBeNull();
    // The same refusal on update leaves the stored client as it was.
    const before = await clients.findMetadata('corp');
    expectFailure(await idp('client', 'update', '--id', 'corp', '--metadata', '{"frobnicate":1}'), 2, /metadata\.frobnicate/);
    expect(await clients.findMetadata('corp')).toEqual(before);
  });

  it('client update changes only what is given; null removes a field; moving to private_key_jwt drops the secret; client secret rotates', async () => {
    const updated = parseJson<Record<string, unknown>>(await idp('client', 'update', '--id', 'web', '--name', 'Web Two', '--metadata', '{"logo_uri":"https://app.example.com/logo.png","default_max_age":3600}', '--json'));
    expect(updated).toMatchObject({ id: 'web', name: 'Web Two', authMethod: 'client_secret_post', metadata: { logo_uri: 'https://app.example.com/logo.png', default_max_age: 3600 } });
    expect((await clients.findMetadata('web'))?.client_secret).toBe(webSecret);
    const removed = parseJson<{ metadata: Record<string, unknown> }>(await idp('client', 'update', '--id', 'web', '--metadata', '{"default_max_age":null}', '--json'));
    expect(removed.metadata).not.toHaveProperty('default_max_age');
    expect(removed.metadata).toHaveProperty('logo_uri');

    const keyed = parseJson<Record<string, unknown>>(await idp('client', 'update', '--id', 'web', '--metadata', '{"token_endpoint_auth_method":"private_key_jwt","jwks_uri":"https://app.example.com/jwks"}', '--json'));
    expect(keyed).toMatchObject({ authMethod: 'private_key_jwt' });
    expect(await clients.findMetadata('web')).not.toHaveProperty('client_secret');
    // Back to a secret needs one first.
    expectFailure(await idp('client', 'update', '--id', 'web', '--auth-method', 'client_secret_basic'), 2, /needs a client secret and web has none/);
    const rotated = parseJson<{ secret: string }>(await idp('client', 'secret', '--id', 'web', '--json'));
    expect(rotated.secret).toMatch(/^[\w-]{43}$/);
    expectSuccess(await idp('client', 'update', '--id', 'web', '--auth-method', 'client_secret_post', '--metadata', '{"jwks_uri":null}'));
    webSecret = rotated.secret;
    expect(await clients.findMetadata('web')).toMatchObject({ client_secret: webSecret, token_endpoint_auth_method: 'client_secret_post' });
    expect(await clients.findMetadata('web')).not.toHaveProperty('jwks_uri');
    expectFailure(await idp('client', 'update', '--id', 'spa', '--metadata', '{"token_endpoint_auth_method":"client_secret_basic"}'), 2, /spa is a public client and stays one/);
    expectFailure(await idp('client', 'update', '--id', 'ghost', '--name', 'x'), 2, /no client with id ghost/);
  });

  it('client delete removes a client; deleting an unknown one exits 2', async () => {
    expect(parseJson(await idp('client', 'delete', '--id', 'svc', '--json'))).toEqual({ id: 'svc', deleted: true });
    expect(await clients.findMetadata('svc')).toBeNull();
    expectFailure(await idp('client', 'delete', '--id', 'svc'), 2, /no client with id svc/);
  });

  it('resource create, grant and list; granting a scope the resource lacks exits 2', async () => {
    const indicator = 'https://api.example.com';
    const [created, badTtl, badIndicator] = await idpInSeries(
      ['resource', 'create', '--indicator', indicator, '--scopes', 'read  write', '--ttl', '600', '--name', 'API', '--json'],
      ['resource', 'create', '--indicator', 'https://other.example.com', '--scopes', 'read', '--ttl', 'soon'],
      ['resource', 'create', '--indicator', 'https://other.example.com/#frag', '--scopes', 'read'],
    );
    expect(parseJson(created)).toMatchObject({ indicator, name: 'API', scopes: ['read', 'write'], accessTokenTtl: 600 });
    expectFailure(badTtl, 2, /--ttl/);
    expectFailure(badIndicator, 2, /without a fragment/);

    const granted = await idp('resource', 'grant', '--client', 'web', '--indicator', indicator, '--scopes', 'read');
    expectSuccess(granted);
    expect(granted.stdout).toBe(`client web may now receive read for ${indicator}\n`);
    expect(await resources.grantFor('web', indicator)).toEqual({ scopes: ['read'], accessTokenTtl: 600 });

    const [unknownScope, unknownClient, unknownResource, list] = await idpInSeries(
      ['resource', 'grant', '--client', 'web', '--indicator', indicator, '--scopes', 'read admin'],
      ['resource', 'grant', '--client', 'ghost', '--indicator', indicator, '--scopes', 'read'],
      ['resource', 'grant', '--client', 'web', '--indicator', 'https://missing.example.com', '--scopes', 'read'],
      ['resource', 'list', '--json'],
    );
    expectFailure(unknownScope, 2, /has no scope admin/);
    expectFailure(unknownClient, 2, /no client with id ghost/);
    expectFailure(unknownResource, 2, /no resource https:\/\/missing\.example\.com/);
    expect(await resources.grantFor('web', indicator)).toEqual({ scopes: ['read'], accessTokenTtl: 600 });
    expect(parseJson<Array<{ indicator: string }>>(list).map((r) => r.indicator)).toEqual([indicator]);
  });

  it('audit list shows events newest first, filtered by email, time and count', async () => {
    await database.db.query(
      `INSERT INTO audit_events (occurred_at, event, reason, account_id, email, ip, user_agent, details) VALUES
         (now() - interval '2 days', 'login.failed', 'bad_password', NULL, 'carol@example.com', '203.0.113.9', 'curl/8.5', NULL),
         (now() - interval '1 hour', 'login.succeeded', NULL, $1, 'Carol@Example.com', '203.0.113.9', 'Mozilla/5.0', '{"via": "password"}'),
         (now() - interval '10 minutes', 'password_reset.requested', 'unknown_email', NULL, 'dave@example.com', '198.51.100.7', NULL, NULL),
         ('2025-06-01T00:00:00Z', 'account.locked', NULL, NULL, 'carol@example.com', NULL, NULL, '{"seconds": 900}')`,
      [annId],
    );
    type EventView = { id: string; occurredAt: string; event: string; reason: string | null; accountId: string | null; email: string | null; ip: string | null; userAgent: string | null; details: unknown };
    const [all, byEmail, recent, sinceIso, limited, human, none] = await idpInSeries(
      ['audit', 'list', '--json'],
      ['audit', 'list', '--email', 'CAROL@example.COM', '--json'],
      ['audit', 'list', '--since', '1d', '--json'],
      ['audit', 'list', '--since', '2026-01-01', '--json'],
      ['audit', 'list', '--limit', '1', '--json'],
      ['audit', 'list', '--email', 'carol@example.com'],
      ['audit', 'list', '--email', 'nobody@example.com'],
    );

    const events = parseJson<EventView[]>(all);
    const times = events.map((e) => Date.parse(e.occurredAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    // `user set-password` above recorded its change in the same transaction.
    // Client, role, resource and permission commands above each left an admin.changed event.
    const changes = events.filter((e) => e.event === 'admin.changed');
    expect(changes.map((e) => (e.details as { operation: string }).operation)).toEqual(expect.arrayContaining(['idp client create', 'idp client update', 'idp client delete', 'idp resource create', 'idp role create']));
    expect(changes.every((e) => (e.details as { actor: string }).actor === 'cli')).toBe(true);
    expect(changes.map((e) => (e.details as { operation: string }).operation)).not.toContain('idp client list');
    const known = events.filter((e) => e.event !== 'admin.changed' && (e.email !== 'ann@example.com' || e.event === 'password.changed'));
    expect(known.map((e) => [e.event, e.email])).toEqual([
      ['password.changed', 'ann@example.com'],
      ['password_reset.requested', 'dave@example.com'],
      ['login.succeeded', 'Carol@Example.com'],
      ['login.failed', 'carol@example.com'],
      ['account.locked', 'carol@example.com'],
    ]);
    expect(known[0]).toMatchObject({ reason: 'set_by_operator', accountId: annId, ip: null, userAgent: null });
    expect(known[2]).toEqual({
      id: expect.stringMatching(/^\d+$/), occurredAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/), event: 'login.succeeded', reason: null,
      accountId: annId, email: 'Carol@Example.com', ip: '203.0.113.9', userAgent: 'Mozilla/5.0', details: { via: 'password' },
    });
    expect(known[4]).toMatchObject({ occurredAt: '2025-06-01T00:00:00.000Z', details: { seconds: 900 }, accountId: null });

    expect(parseJson<EventView[]>(byEmail).map((e) => e.event)).toEqual(['login.succeeded', 'login.failed', 'account.locked']);
    const recentEvents = parseJson<EventView[]>(recent);
    expect(recentEvents.map((e) => e.event)).toEqual(expect.arrayContaining(['password.changed', 'password_reset.requested', 'login.succeeded']));
    expect(recentEvents.map((e) => e.event)).not.toContain('login.failed');
    const sinceIsoEvents = parseJson<EventView[]>(sinceIso);
    expect(sinceIsoEvents.map((e) => e.event)).toContain('login.failed');
    expect(sinceIsoEvents.map((e) => e.event)).not.toContain('account.locked');
    expect(parseJson<EventView[]>(limited)).toEqual([events[0]]);

    expectSuccess(human);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^TIME\s+EVENT\s+REASON\s+EMAIL\s+ACCOUNT\s+IP$/);
    expect(lines[1]).toMatch(new RegExp(`^\\S+Z\\s+login\\.succeeded\\s+-\\s+Carol@Example\\.com\\s+${annId}\\s+203\\.0\\.113\\.9$`));
    expect(lines[2]).toMatch(/^\S+Z\s+login\.failed\s+bad_password\s+carol@example\.com\s+-\s+203\.0\.113\.9$/);
    expect(lines[3]).toMatch(/^2025-06-01T00:00:00\.000Z\s+account\.locked\s+-\s+carol@example\.com\s+-\s+-$/);
    expectSuccess(none);
    expect(none.stdout).toBe('no events\n');
  });

  // Roles, permissions and sessions go through the same services as the admin API.
  const api = 'https://api.example.com';

  it('permission create and list; a permission for a scope the resource lacks exits 2', async () => {
    const [created, human, unknownScope, unknownResource, duplicate, list, listHuman, none] = await idpInSeries(
      ['permission', 'create', '--resource', api, '--name', 'read', '--description', 'read the API', '--json'],
      ['permission', 'create', '--resource', api, '--name', 'write'],
      ['permission', 'create', '--resource', api, '--name', 'admin'],
      ['permission', 'create', '--resource', 'https://missing.example.com', '--name', 'read'],
      ['permission', 'create', '--resource', api, '--name', 'read'],
      ['permission', 'list', '--json'],
      ['permission', 'list'],
      ['permission', 'list', '--resource', 'https://missing.example.com'],
    );
    expect(parseJson(created)).toMatchObject({ indicator: api, name: 'read', description: 'read the API', id: expect.any(String), createdAt: expect.any(String) });
    expectSuccess(human);
    expect(human.stdout).toBe(`created permission write on ${api}\n`);
    expectFailure(unknownScope, 2, /https:\/\/api\.example\.com has no scope admin; its scopes are: read write/);
    expectFailure(unknownResource, 2, /no API resource https:\/\/missing\.example\.com/);
    expectFailure(duplicate, 2, /permission read already exists on https:\/\/api\.example\.com/);
    expect(parseJson<Array<{ indicator: string; name: string }>>(list).map((p) => [p.indicator, p.name])).toEqual([[api, 'read'], [api, 'write']]);
    expectSuccess(listHuman);
    const lines = listHuman.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^RESOURCE\s+NAME\s+DESCRIPTION$/);
    expect(lines.slice(1)).toEqual([expect.stringMatching(/^https:\/\/api\.example\.com\s+read\s+read the API$/), expect.stringMatching(/^https:\/\/api\.example\.com\s+write\s+-$/)]);
    expectSuccess(none);
    expect(none.stdout).toBe('no permissions\n');
    expect((await rbac.listPermissions(api)).map((p) => p.name)).toEqual(['read', 'write']);
  });

  it('role include, permit and show change what an account holds through its roles; a cycle or an unknown name exits 2', async () => {
    const [included, cycle, self, unknownChild, permitted, unknownPermission, shown, human] = await idpInSeries(
      ['role', 'include', '--name', 'auditor', '--role', 'staff', '--json'],
      ['role', 'include', '--name', 'staff', '--role', 'auditor'],
      ['role', 'include', '--name', 'admin', '--role', 'admin'],
      ['role', 'include', '--name', 'auditor', '--role', 'nope'],
      ['role', 'permit', '--name', 'staff', '--resource', api, '--permission', 'read'],
      ['role', 'permit', '--name', 'staff', '--resource', api, '--permission', 'delete'],
      ['role', 'show', '--name', 'staff', '--json'],
      ['role', 'show', '--name', 'auditor'],
    );
    expect(parseJson(included)).toMatchObject({ name: 'auditor', description: 'reads the logs', composites: ['staff'], permissions: [] });
    expectFailure(cycle, 2, /^idp: staff cannot include auditor: .*cycle$/m);
    expectFailure(self, 2, /a role cannot include itself \(admin\)/);
    expectFailure(unknownChild, 2, /no role named nope/);
    expectSuccess(permitted);
    expect(permitted.stdout).toBe(`staff now holds read on ${api} (permissions: read on ${api})\n`);
    expectFailure(unknownPermission, 2, /no permission delete on https:\/\/api\.example\.com/);
    expect(parseJson(shown)).toMatchObject({ name: 'staff', description: null, composites: [], permissions: [{ indicator: api, name: 'read' }] });
    expectSuccess(human);
    expect(human.stdout).toBe('role auditor (reads the logs)\n  includes:    staff\n  permissions: none\n');

    // Bob holds auditor directly, so staff and its permission through it.
    const bob = await accounts.findByEmail('bob@example.com');
    expect(await rbac.forAccount(bob!.id)).toEqual({ roles: ['auditor', 'staff'], permissions: { [api]: ['read'] } });
  });

  it('role forbid, exclude and list undo it; undoing what is not there exits 2', async () => {
    const [forbidden, notHeld, excluded, notIncluded, listed] = await idpInSeries(
      ['role', 'forbid', '--name', 'staff', '--resource', api, '--permission', 'read', '--json'],
      ['role', 'forbid', '--name', 'staff', '--resource', api, '--permission', 'read'],
      ['role', 'exclude', '--name', 'auditor', '--role', 'staff'],
      ['role', 'exclude', '--name', 'auditor', '--role', 'staff'],
      ['role', 'list'],
    );
    expect(parseJson(forbidden)).toMatchObject({ name: 'staff', permissions: [] });
    expectFailure(notHeld, 2, /staff does not hold read on https:\/\/api\.example\.com/);
    expectSuccess(excluded);
    expect(excluded.stdout).toBe('auditor no longer includes staff (includes: none)\n');
    expectFailure(notIncluded, 2, /auditor does not include staff/);
    expectSuccess(listed);
    expect(listed.stdout).toMatch(/^NAME\s+DESCRIPTION\s+INCLUDES\s+PERMISSIONS\nadmin\s+-\s+-\s+-\nauditor\s+reads the logs\s+-\s+-\nstaff\s+-\s+-\s+-\n$/);
    const bob = await accounts.findByEmail('bob@example.com');
    expect(await rbac.forAccount(bob!.id)).toEqual({ roles: ['auditor'], permissions: {} });
  });

  it('permission delete and role delete take what they remove away from its holders; deleting twice exits 2', async () => {
    const [, permitted, , deletedPermission, permissionAgain, shown, deletedRole, roleAgain, showMissing] = await idpInSeries(
      ['role', 'create', '--name', 'writer'],
      ['role', 'permit', '--name', 'writer', '--resource', api, '--permission', 'write', '--json'],
      ['role', 'grant', '--email', 'bob@example.com', '--role', 'writer'],
      ['permission', 'delete', '--resource', api, '--name', 'write'],
      ['permission', 'delete', '--resource', api, '--name', 'write', '--json'],
      ['role', 'show', '--name', 'writer', '--json'],
      ['role', 'delete', '--name', 'writer', '--json'],
      ['role', 'delete', '--name', 'writer'],
      ['role', 'show', '--name', 'writer'],
    );
    expect(parseJson(permitted)).toMatchObject({ permissions: [{ indicator: api, name: 'write' }] });
    expectSuccess(deletedPermission);
    expect(deletedPermission.stdout).toBe(`deleted permission write on ${api}\n`);
    expect(permissionAgain).toMatchObject({ code: 2, stdout: '' });
    expect(JSON.parse(permissionAgain.stderr)).toEqual({ error: 'permission.not_found', error_description: `no permission write on ${api}` });
    expect(parseJson(shown)).toMatchObject({ name: 'writer', permissions: [] });
    expect(parseJson(deletedRole)).toEqual({ name: 'writer', deleted: true });
    expectFailure(roleAgain, 2, /no role named writer/);
    expectFailure(showMissing, 2, /no role named writer/);
    const bob = await accounts.findByEmail('bob@example.com');
    expect(await accounts.rolesOf(bob!.id)).toEqual(['auditor']);
    expect((await rbac.listPermissions(api)).map((p) => p.name)).toEqual(['read']);
  });

  it('user roles replaces the roles an account holds directly; --none removes them; an unknown role or user exits 2', async () => {
    const bob = await accounts.findByEmail('bob@example.com');
    const [set, unknownRole, unknownUser] = await idpInSeries(
      ['user', 'roles', '--email', 'bob@example.com', '--role', 'staff', '--role', 'admin', '--json'],
      ['user', 'roles', '--email', 'bob@example.com', '--role', 'staff', '--role', 'nope'],
      ['user', 'roles', '--email', 'nobody@example.com', '--role', 'staff'],
    );
    const view = parseJson<Record<string, unknown>>(set);
    expect(view).toMatchObject({ id: bob!.id, email: 'bob@example.com', roles: ['admin', 'staff'] });
    expect(Object.keys(view)).not.toContain('passwordHash');
    expectFailure(unknownRole, 2, /no role named nope/);
    expectFailure(unknownUser, 2, /no user nobody@example\.com/);
    expect(await accounts.rolesOf(bob!.id)).toEqual(['admin', 'staff']);

    const none = await idp('user', 'roles', '--email', 'BOB@example.com', '--none');
    expectSuccess(none);
    expect(none.stdout).toBe('bob@example.com now holds roles: none\n');
    expect(await accounts.rolesOf(bob!.id)).toEqual([]);
  });

  it('client roles sets the roles a client holds; an unknown role or client exits 2', async () => {
    const [set, human, unknownRole, unknownClient, unknownClientNone] = await idpInSeries(
      ['client', 'roles', '--id', 'web', '--role', 'staff', '--role', 'auditor', '--json'],
      ['client', 'roles', '--id', 'spa', '--role', 'auditor'],
      ['client', 'roles', '--id', 'web', '--role', 'nope'],
      ['client', 'roles', '--id', 'ghost', '--role', 'staff'],
      ['client', 'roles', '--id', 'ghost', '--none'],
    );
    expect(parseJson(set)).toEqual({ id: 'web', roles: ['auditor', 'staff'] });
    expectSuccess(human);
    expect(human.stdout).toBe('client spa now holds roles: auditor\n');
    expectFailure(unknownRole, 2, /no role named nope/);
    expectFailure(unknownClient, 2, /no client with id ghost/);
    expectFailure(unknownClientNone, 2, /no client with id ghost/);
    expect(await rbac.clientRoles('web')).toEqual(['auditor', 'staff']);

    const none = await idp('client', 'roles', '--id', 'web', '--none');
    expectSuccess(none);
    expect(none.stdout).toBe('client web now holds roles: none\n');
    expect(await rbac.clientRoles('web')).toEqual([]);
    expect(await rbac.clientRoles('spa')).toEqual(['auditor']);
  });

  it('session commands: a user without sessions lists none; unknown users, sessions and grants exit 2', async () => {
    const [json, human, unknownUser, session, grant, all] = await idpInSeries(
      ['session', 'list', '--email', 'bob@example.com', '--json'],
      ['session', 'list', '--email', 'bob@example.com'],
      ['session', 'list', '--email', 'nobody@example.com'],
      ['session', 'revoke', '--email', 'bob@example.com', '--session', 'missing'],
      ['session', 'revoke-grant', '--email', 'bob@example.com', '--grant', 'missing'],
      ['session', 'revoke-all', '--email', 'nobody@example.com'],
    );
    expect(parseJson(json)).toEqual({ sessions: [], grants: [] });
    expectSuccess(human);
    expect(human.stdout).toBe('no sessions or grants\n');
    expectFailure(unknownUser, 2, /no user nobody@example\.com/);
    expectFailure(session, 2, /no session missing for this user/);
    expectFailure(grant, 2, /no grant missing for this user/);
    expectFailure(all, 2, /no user nobody@example\.com/);
  });

  // The child process keeps provider state where a server on this database would (REDIS_URL is
  // unset for it): the SQL table on PostgreSQL, the SQLite file in DATA_DIR on the embedded
  // database. The test writes sessions, grants and tokens there as the provider would.
  let stateFile: ProviderStateFile | null = null;
  const providerState = () => {
    if (database.settings.databaseUrl) return createSqlAdapterFactory(database.db);
    stateFile ??= createProviderStateFile(database.settings.dataDir);
    return createSqliteAdapterFactory(stateFile);
  };
  // Before the database is dropped (the later afterAll runs first).
  afterAll(() => stateFile?.close());
  const epoch = Math.floor(Date.now() / 1000);
  const isoAt = (seconds: number) => new Date(seconds * 1000).toISOString();

  it('session list, revoke, revoke-grant and revoke-all end what the account holds', async () => {
    const state = providerState();
    await state('Session').upsert('sess-1', {
      kind: 'Session', jti: 'sess-1', uid: 'uid-1', accountId: annId, loginTs: epoch - 300, iat: epoch - 600, exp: epoch + 3600, amr: ['pwd'],
      authorizations: { web: { grantId: 'grant-1', sid: 'sid-1' } },
    }, 3600);
    await state('Grant').upsert('grant-1', {
      kind: 'Grant', jti: 'grant-1', accountId: annId, clientId: 'web', openid: { scope: 'openid email profile' }, resources: { [api]: 'read write' },
      iat: epoch - 600, exp: epoch + 3600,
    }, 3600);
    await state('AccessToken').upsert('at-1', { kind: 'AccessToken', jti: 'at-1', accountId: annId, clientId: 'web', grantId: 'grant-1', iat: epoch - 60, exp: epoch + 600 }, 600);
    await state('Session').upsert('sess-2', { kind: 'Session', jti: 'sess-2', uid: 'uid-2', accountId: annId, loginTs: epoch - 100, iat: epoch - 100, exp: epoch + 3600, authorizations: {} }, 3600);
    await state('Grant').upsert('grant-2', { kind: 'Grant', jti: 'grant-2', accountId: annId, clientId: 'spa', openid: { scope: 'openid' }, iat: epoch - 200, exp: epoch + 3600 }, 3600);
    await state('RefreshToken').upsert('rt-2', { kind: 'RefreshToken', jti: 'rt-2', accountId: annId, clientId: 'spa', grantId: 'grant-2', iat: epoch - 150, exp: epoch + 3600 }, 3600);

    const [json, human, notOwner, revoked, afterRevoke] = await idpInSeries(
      ['session', 'list', '--email', 'ann@example.com', '--json'],
      ['session', 'list', '--email', 'ann@example.com'],
      ['session', 'revoke', '--email', 'bob@example.com', '--session', 'sess-1'],
      ['session', 'revoke', '--email', 'ann@example.com', '--session', 'sess-1'],
      ['session', 'list', '--email', 'ann@example.com', '--json'],
    );
    const listed = parseJson<{ sessions: Array<Record<string, unknown>>; grants: Array<Record<string, unknown>> }>(json);
    expect(listed.sessions).toEqual([
      { id: 'sess-2', uid: 'uid-2', loginAt: isoAt(epoch - 100), createdAt: isoAt(epoch - 100), expiresAt: isoAt(epoch + 3600), clients: [], amr: null },
      { id: 'sess-1', uid: 'uid-1', loginAt: isoAt(epoch - 300), createdAt: isoAt(epoch - 600), expiresAt: isoAt(epoch + 3600), clients: ['web'], amr: ['pwd'] },
    ]);
    expect(listed.grants).toEqual([
      { id: 'grant-2', clientId: 'spa', scopes: ['openid'], resources: {}, createdAt: isoAt(epoch - 200), lastUsedAt: isoAt(epoch - 150), expiresAt: isoAt(epoch + 3600) },
      {
        id: 'grant-1', clientId: 'web', scopes: ['openid', 'email', 'profile'], resources: { [api]: ['read', 'write'] },
        createdAt: isoAt(epoch - 600), lastUsedAt: isoAt(epoch - 60), expiresAt: isoAt(epoch + 3600),
      },
    ]);
    expectSuccess(human);
    expect(human.stdout.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^KIND\s+ID\s+CLIENTS\s+SCOPES\s+CREATED\s+LAST USED$/),
      expect.stringMatching(new RegExp(`^session\\s+sess-2\\s+-\\s+-\\s+${isoAt(epoch - 100)}\\s+${isoAt(epoch - 100)}$`)),
      expect.stringMatching(new RegExp(`^session\\s+sess-1\\s+web\\s+-\\s+${isoAt(epoch - 600)}\\s+${isoAt(epoch - 300)}$`)),
      expect.stringMatching(new RegExp(`^grant\\s+grant-2\\s+spa\\s+openid\\s+${isoAt(epoch - 200)}\\s+${isoAt(epoch - 150)}$`)),
      expect.stringMatching(new RegExp(`^grant\\s+grant-1\\s+web\\s+openid email profile; https://api\\.example\\.com: read write\\s+${isoAt(epoch - 600)}\\s+${isoAt(epoch - 60)}$`)),
    ]);
    // Another account cannot end ann's session by naming it.
    expectFailure(notOwner, 2, /no session sess-1 for this user/);
    expectSuccess(revoked);
    expect(revoked.stdout).toBe('ended session sess-1 of ann@example.com\n');
    // The session took the grant it authorized and that grant's token with it.
    const remaining = parseJson<{ sessions: Array<{ id: string }>; grants: Array<{ id: string }> }>(afterRevoke);
    expect([remaining.sessions.map((s) => s.id), remaining.grants.map((g) => g.id)]).toEqual([['sess-2'], ['grant-2']]);
    expect(await state('AccessToken').find('at-1')).toBeUndefined();

    const [grant, grantAgain, all, empty] = await idpInSeries(
      ['session', 'revoke-grant', '--email', 'ann@example.com', '--grant', 'grant-2', '--json'],
      ['session', 'revoke-grant', '--email', 'ann@example.com', '--grant', 'grant-2'],
      ['session', 'revoke-all', '--email', 'ann@example.com'],
      ['session', 'list', '--email', 'ann@example.com'],
    );
    expect(parseJson(grant)).toEqual({ email: 'ann@example.com', grant: 'grant-2', revoked: true });
    expect(await state('RefreshToken').find('rt-2')).toBeUndefined();
    expectFailure(grantAgain, 2, /no grant grant-2 for this user/);
    expectSuccess(all);
    expect(all.stdout).toBe('ended every session and grant of ann@example.com (1 record removed)\n');
    expect(await state('Session').find('sess-2')).toBeUndefined();
    expectSuccess(empty);
    expect(empty.stdout).toBe('no sessions or grants\n');
  });

  it('user disable ends the account\'s sessions and revokes its tokens, as the admin API does, and audits the CLI as the actor', async () => {
    const state = providerState();
    await state('Session').upsert('sess-3', { kind: 'Session', jti: 'sess-3', uid: 'uid-3', accountId: annId, iat: epoch, exp: epoch + 3600, authorizations: { web: { grantId: 'grant-3' } } }, 3600);
    await state('Grant').upsert('grant-3', { kind: 'Grant', jti: 'grant-3', accountId: annId, clientId: 'web', openid: { scope: 'openid' }, iat: epoch, exp: epoch + 3600 }, 3600);
    await state('AccessToken').upsert('at-3', { kind: 'AccessToken', jti: 'at-3', accountId: annId, clientId: 'web', grantId: 'grant-3', iat: epoch, exp: epoch + 600 }, 600);

    const [disabled, listed, enabled] = await idpInSeries(
      ['user', 'disable', '--email', 'ann@example.com', '--json'],
      ['session', 'list', '--email', 'ann@example.com', '--json'],
      ['user', 'enable', '--email', 'ann@example.com'],
    );
    expect(parseJson(disabled)).toMatchObject({ id: annId, disabled: true, roles: ['admin', 'staff'] });
    expect(parseJson(listed)).toEqual({ sessions: [], grants: [] });
    for (const [model, id] of [['Session', 'sess-3'], ['Grant', 'grant-3'], ['AccessToken', 'at-3']] as const) expect(await state(model).find(id), model).toBeUndefined();
    expectSuccess(enabled);
    expect(enabled.stdout).toBe('enabled ann@example.com\n');

    const { rows } = await database.db.query<{ event: string; details: unknown }>(
      "SELECT event, details FROM audit_events WHERE account_id = $1 AND event IN ('account.disabled', 'account.enabled') ORDER BY id DESC LIMIT 2",
      [annId],
    );
    expect(rows).toEqual([{ event: 'account.enabled', details: { actor: 'cli' } }, { event: 'account.disabled', details: { actor: 'cli' } }]);
  });

  it('user delete removes the account and whatever it held; deleting it again exits 2', async () => {
    const eve = parseJson<{ id: string }>(await idp('user', 'create', '--email', 'eve@example.com', '--password', 'eves password 1234', '--role', 'staff', '--json'));
    await providerState()('Session').upsert('sess-eve', { kind: 'Session', jti: 'sess-eve', uid: 'uid-eve', accountId: eve.id, iat: epoch, exp: epoch + 3600 }, 3600);

    const [deleted, again, json] = await idpInSeries(
      ['user', 'delete', '--email', 'Eve@Example.com'],
      ['user', 'delete', '--email', 'eve@example.com'],
      ['user', 'list', '--json'],
    );
    expectSuccess(deleted);
    expect(deleted.stdout).toBe('deleted user eve@example.com\n');
    expectFailure(again, 2, /no user eve@example\.com/);
    expect(parseJson<Array<{ email: string }>>(json).map((u) => u.email).sort()).toEqual(['ann@example.com', 'bob@example.com']);
    expect(await accounts.findByEmail('eve@example.com')).toBeNull();
    expect(await providerState()('Session').find('sess-eve')).toBeUndefined();
    const { rows } = await database.db.query<{ details: unknown }>("SELECT details FROM audit_events WHERE event = 'account.deleted' AND account_id = $1", [eve.id]);
    expect(rows).toEqual([{ details: { actor: 'cli' } }]);
  });
});

describe('idp CLI without a database', { timeout: 120_000 }, () => {
  const env = childEnv({ dataDir: join(tmpdir(), 'idp-cli-unused'), databaseUrl: 'postgres://postgres@127.0.0.1:1/none' });
  const idp = (...args: string[]) => spawnIdp(args, env);

  it('usage errors exit 2 with one line; --help exits 0', async () => {
    const [unknownCommand, missingOption, unknownOption, missingSubcommand, extraArgument, jsonUsage, help, subHelp] = await Promise.all([
      idp('frobnicate'),
      idp('user', 'create', '--email', 'x@example.com'),
      idp('user', 'list', '--colour'),
      idp('user'),
      idp('client', 'list', 'extra'),
      idp('client', 'delete', '--json'),
      idp('--help'),
      idp('client', 'create', '--help'),
    ]);
    expectFailure(unknownCommand, 2, /unknown command 'frobnicate'/);
    expectFailure(missingOption, 2, /a password is required: --password <password>, or --password-stdin/);
    expectFailure(unknownOption, 2, /unknown option '--colour'/);
    expectFailure(missingSubcommand, 2, /missing command; see idp user --help/);
    expectFailure(extraArgument, 2, /too many arguments/);
    expect(jsonUsage).toMatchObject({ code: 2, stdout: '' });
    expect(JSON.parse(jsonUsage.stderr)).toMatchObject({ error: 'commander.missingMandatoryOptionValue', error_description: expect.stringContaining('--id') });

    expectSuccess(help);
    expect(help.stdout).toMatch(/^Usage: idp /);
    for (const group of ['user', 'role', 'permission', 'client', 'resource', 'session', 'audit', 'migrate']) expect(help.stdout).toMatch(new RegExp(`^  ${group}\\b`, 'm'));
    expectSuccess(subHelp);
    expect(subHelp.stdout).toContain('--redirect-uri <uri>');
  });

  it('user roles and client roles need --role or --none, not both, and say so before connecting', async () => {
    const [userNeither, userBoth, clientNeither, clientBoth] = await Promise.all([
      idp('user', 'roles', '--email', 'x@example.com'),
      idp('user', 'roles', '--email', 'x@example.com', '--role', 'staff', '--none'),
      idp('client', 'roles', '--id', 'web', '--json'),
      idp('client', 'roles', '--id', 'web', '--none', '--role', 'staff'),
    ]);
    expectFailure(userNeither, 2, /give --role at least once, or --none to remove every role/);
    expectFailure(userBoth, 2, /option '--none' cannot be used with option '--role <role>'/);
    expect(clientNeither).toMatchObject({ code: 2, stdout: '' });
    expect(JSON.parse(clientNeither.stderr)).toEqual({ error: 'commander.missingRoles', error_description: 'give --role at least once, or --none to remove every role' });
    expectFailure(clientBoth, 2, /option '--none' cannot be used with option '--role <role>'/);
  });

  it('audit list refuses a bad --since or --limit with exit 2 before connecting', async () => {
    const [word, rolledOver, unit, zero, tooMany, fraction, json] = await Promise.all([
      idp('audit', 'list', '--since', 'yesterday'),
      idp('audit', 'list', '--since', '2026-02-30'),
      idp('audit', 'list', '--since', '2w'),
      idp('audit', 'list', '--limit', '0'),
      idp('audit', 'list', '--limit', '1001'),
      idp('audit', 'list', '--limit', '1.5'),
      idp('audit', 'list', '--since', 'last week', '--json'),
    ]);
    for (const result of [word, rolledOver, unit]) expectFailure(result, 2, /--since <time>.* is invalid\. expected an ISO 8601 date or date-time \(2026-11-01, 2026-11-01T12:00:00Z\) or a duration back from now \(30s, 30m, 12h, 7d\)$/m);
    for (const result of [zero, tooMany, fraction]) expectFailure(result, 2, /--limit <n>.* is invalid\. expected a whole number from 1 to 1000$/m);
    expect(json).toMatchObject({ code: 2, stdout: '' });
    expect(JSON.parse(json.stderr)).toMatchObject({ error: 'commander.invalidArgument', error_description: expect.stringContaining('--since') });
  });

  it('a configuration error exits 2; an unreachable database exits 1, each with one line', async () => {
    const [config, unreachable] = await Promise.all([
      spawnIdp(['user', 'list'], { ...env, PORT: 'eighty' }),
      idp('user', 'list'),
    ]);
    expectFailure(config, 2, /invalid configuration: port/);
    expectFailure(unreachable, 1, /ECONNREFUSED/);
  });

  it('owns an idle embedded data directory while it runs and releases it afterwards', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'idp-cli-'));
    try {
      const ownerEnv = childEnv({ dataDir });
      const users = await spawnIdp(['user', 'list', '--json'], ownerEnv);
      expect(parseJson(users)).toEqual([]);
      // No lock file and no socket left behind: the database was closed before the exit.
      expect(readdirSync(dataDir)).toEqual(['pglite']);
      const again = await spawnIdp(['migrate', '--json'], ownerEnv);
      expect(parseJson(again)).toEqual({ applied: [] });
      expect(existsSync(join(dataDir, 'embedded.lock'))).toBe(false);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('audit list --since', () => {
  const now = new Date('2026-11-20T12:00:00Z');
  const since = (value: string) => parseSince(value, now).toISOString();

  it('reads durations back from now, ISO dates as UTC midnight and date-times in UTC unless they carry an offset', () => {
    expect([since('45s'), since('30m'), since('12h'), since('7d')]).toEqual(['2026-11-20T11:59:15.000Z', '2026-11-20T11:30:00.000Z', '2026-11-20T00:00:00.000Z', '2026-11-13T12:00:00.000Z']);
    expect([since('2026-11-01'), since('2026-11-01T12:00:00Z'), since('2026-11-01T12:00'), since('2026-11-01T12:00:00.250+02:00'), since('2024-02-29')])
      .toEqual(['2026-11-01T00:00:00.000Z', '2026-11-01T12:00:00.000Z', '2026-11-01T12:00:00.000Z', '2026-11-01T10:00:00.250Z', '2024-02-29T00:00:00.000Z']);
  });

  it('refuses anything else instead of guessing', () => {
    for (const value of ['', 'yesterday', '7', 'd', '-7d', '1.5h', '2w', '1e3d', '2026-02-29', '2026-13-01', '2026-11-01T24:00:00Z', '2026-11-01 12:00', '11/01/2026', '99999999999d']) {
      expect(() => parseSince(value, now), value).toThrow(/expected an ISO 8601 date or date-time/);
    }
  });
});
