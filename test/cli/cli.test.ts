import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccountService, type AccountService } from '../../src/accounts/service.ts';
import { createClientService, type ClientService } from '../../src/clients/service.ts';
import { createResourceService, type ResourceService } from '../../src/resources/service.ts';
import { readMigrations } from '../../src/db/migrate.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { parseSince } from '../../src/cli/commands/audit.ts';

// The real CLI in a child process against a database of its own. In embedded mode the test
// process owns the PGlite directory, so every command here joins it over the unix socket: the
// same path the CLI takes while the server runs.
//
// Commands that reach the database run one after another, as an operator would type them (test
// /db/embedded.test.ts covers concurrent connections); commands that fail before connecting run
// in parallel.

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

type Env = Record<string, string | undefined>;

function spawnIdp(args: string[], env: Env): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['src/cli/main.ts', ...args], { cwd: repoRoot, env, timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

function childEnv(settings: { databaseUrl?: string; dataDir: string }): Env {
  const env: Env = { ...process.env, DATA_DIR: settings.dataDir, LOG_LEVEL: 'silent' };
  delete env.REDIS_URL;
  delete env.IDP_CONFIG;
  delete env.NODE_ENV;
  if (settings.databaseUrl) env.DATABASE_URL = settings.databaseUrl;
  else delete env.DATABASE_URL;
  return env;
}

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

describe('idp CLI', () => {
  let database: TestDatabase;
  let env: Env;
  let accounts: AccountService;
  let clients: ClientService;
  let resources: ResourceService;
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
    expectFailure(disable, 2, /no account with email nobody@example\.com/);
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
    expectFailure(badMethod, 2, /--auth-method/);
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
    const known = events.filter((e) => e.email !== 'ann@example.com' || e.event === 'password.changed');
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
});

describe('idp CLI without a database', () => {
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
    expectFailure(missingOption, 2, /required option '--password <password>' not specified/);
    expectFailure(unknownOption, 2, /unknown option '--colour'/);
    expectFailure(missingSubcommand, 2, /missing command; see idp user --help/);
    expectFailure(extraArgument, 2, /too many arguments/);
    expect(jsonUsage).toMatchObject({ code: 2, stdout: '' });
    expect(JSON.parse(jsonUsage.stderr)).toMatchObject({ error: 'commander.missingMandatoryOptionValue', error_description: expect.stringContaining('--id') });

    expectSuccess(help);
    expect(help.stdout).toMatch(/^Usage: idp /);
    for (const group of ['user', 'role', 'client', 'resource', 'audit', 'migrate']) expect(help.stdout).toMatch(new RegExp(`^  ${group}\\b`, 'm'));
    expectSuccess(subHelp);
    expect(subHelp.stdout).toContain('--redirect-uri <uri>');
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
