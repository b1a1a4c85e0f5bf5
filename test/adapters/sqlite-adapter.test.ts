import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createProviderStateFile, PROVIDER_STATE_FILE, type ProviderStateFile } from '../../src/db/state-sqlite.ts';
import { createSqliteAdapterFactory, revokeAccountStateSqlite } from '../../src/oidc/adapters/sqlite.ts';
import { createAccountStateRevoker, createAccountStateStore } from '../../src/oidc/adapters/account-state.ts';
import { createSqliteRefreshRotations } from '../../src/oidc/refresh-rotations.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { adapterContract, newId } from './contract.ts';
import { refreshRotationsContract } from './refresh-rotations-contract.ts';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'idp-state-'));
}

adapterContract('SqliteAdapter', async () => {
  // The store's revokeAll draws its line in the sand (sessions_valid_after) in the database, as the app does.
  const database = await createTestDatabase();
  const dir = tempDir();
  const file = createProviderStateFile(dir);
  const options = { redis: null, prefix: 'unused:', db: database.db, sqlite: file };
  return {
    factory: createSqliteAdapterFactory(file),
    // Through the app's factory: given the state file it must pick it over the SQL table.
    revokeAccountState: createAccountStateRevoker(options),
    accountState: createAccountStateStore(options),
    async teardown() {
      file.close();
      rmSync(dir, { recursive: true, force: true });
      await database.drop();
    },
  };
});

describe('refresh rotations in the SQLite state file', () => {
  const dir = tempDir();
  const file = createProviderStateFile(dir);
  afterAll(() => {
    file.close();
    rmSync(dir, { recursive: true, force: true });
  });
  refreshRotationsContract(() => createSqliteRefreshRotations(file));
});

describe('the SQLite state file', () => {
  let dir: string;
  let file: ProviderStateFile;
  let database: TestDatabase;
  /** Other connections to the same file, as the CLI beside the server holds them. */
  const others: Array<{ close(): void }> = [];

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database?.drop();
  });

  beforeEach(() => {
    dir = tempDir();
    file = createProviderStateFile(dir);
  });

  afterEach(() => {
    for (const other of others.splice(0)) other.close();
    file.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function rawConnection(): DatabaseSync {
    const raw = new DatabaseSync(join(dir, PROVIDER_STATE_FILE), { timeout: 2_000 });
    others.push(raw);
    return raw;
  }

  function secondFile(): ProviderStateFile {
    const second = createProviderStateFile(dir);
    others.push(second);
    return second;
  }

  const count = (raw: DatabaseSync, like: string) => (raw.prepare('SELECT count(*) AS n FROM oidc_payloads WHERE id LIKE ?').get(like) as { n: number }).n;

  it('touches nothing on disk before first use, then creates the file readable by its owner only, in WAL mode', async () => {
    expect(() => statSync(file.path)).toThrow(/ENOENT/);
    await createSqliteAdapterFactory(file)('Session').upsert('s', { jti: 's' }, 60);
    expect(statSync(file.path).mode & 0o777).toBe(0o600);
    expect(statSync(`${file.path}-wal`).mode & 0o777).toBe(0o600);
    const raw = rawConnection();
    expect(raw.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    expect(raw.prepare('PRAGMA user_version').get()).toEqual({ user_version: 2 });
  });

  it('commits every write of one event-loop turn together, and resolves them only then', async () => {
    file.open();
    const raw = rawConnection();
    const adapter = createSqliteAdapterFactory(file)('AccessToken');
    const before = count(raw, 'group-%');
    const writes = Array.from({ length: 50 }, (_, index) => adapter.upsert(`group-${index}`, { jti: `group-${index}` }, 60));
    let settled = 0;
    for (const write of writes) void write.then(() => settled++);
    // Run, not committed: this process reads them, another connection does not yet.
    expect(await adapter.find('group-49')).toEqual({ jti: 'group-49' });
    expect(settled).toBe(0);
    expect(count(raw, 'group-%')).toBe(before);

    const commits = file.commits;
    await Promise.all(writes);
    expect(count(raw, 'group-%')).toBe(50);
    expect(file.commits).toBe(commits + 1);
    // Awaited one by one, each write is a turn, and a commit, of its own.
    for (const index of [1, 2, 3]) await adapter.upsert(`alone-${index}`, { jti: `alone-${index}` }, 60);
    expect(file.commits).toBe(commits + 4);
  });

  it('rejects every write of a turn whose COMMIT fails and stores none of them; the next turn works', async () => {
    file.open();
    const raw = rawConnection();
    // A deferred foreign key is checked at COMMIT: a trigger breaks it when a "poison" row is
    // written (node:sqlite enforces foreign keys unless told not to), so that turn's COMMIT fails.
    raw.exec(`
      CREATE TABLE poison_parent (id text PRIMARY KEY);
      CREATE TABLE poison_child (parent text REFERENCES poison_parent (id) DEFERRABLE INITIALLY DEFERRED);
      CREATE TRIGGER poison AFTER INSERT ON oidc_payloads WHEN new.id LIKE 'poison%' BEGIN INSERT INTO poison_child VALUES ('missing'); END;
    `);
    const factory = createSqliteAdapterFactory(file);
    await factory('Grant').upsert('kept-grant', { jti: 'kept-grant', accountId: 'a' }, 60);

    const results = await Promise.allSettled([
      factory('AccessToken').upsert('lost-1', { jti: 'lost-1', grantId: 'kept-grant' }, 60),
      factory('AccessToken').upsert('poison-1', { jti: 'poison-1' }, 60),
      factory('Grant').destroy('kept-grant'),
      factory('Session').upsert('lost-2', { jti: 'lost-2', accountId: 'a' }, 60),
    ]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    for (const result of results) expect((result as PromiseRejectedResult).reason).toMatchObject({ message: expect.stringMatching(/FOREIGN KEY constraint failed/) });
    for (const id of ['lost-1', 'poison-1', 'lost-2']) expect(count(raw, id), id).toBe(0);
    expect(await factory('Grant').find('kept-grant')).toEqual({ jti: 'kept-grant', accountId: 'a' });
    expect(await factory('AccessToken').find('lost-1')).toBeUndefined();

    raw.exec('DROP TRIGGER poison');
    await factory('AccessToken').upsert('later', { jti: 'later' }, 60);
    expect(count(raw, 'later')).toBe(1);
  });

  it('undoes a write that fails on its own, and keeps the others of its turn', async () => {
    file.open();
    const raw = rawConnection();
    raw.exec("CREATE TRIGGER refuse BEFORE INSERT ON oidc_payloads WHEN new.id = 'refused' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END;");
    const adapter = createSqliteAdapterFactory(file)('AccessToken');
    const results = await Promise.allSettled([adapter.upsert('first', { jti: 'first' }, 60), adapter.upsert('refused', { jti: 'refused' }, 60), adapter.upsert('last', { jti: 'last' }, 60)]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect([count(raw, 'first'), count(raw, 'refused'), count(raw, 'last')]).toEqual([1, 0, 1]);
  });

  it('shares the file with another connection, as the CLI beside the server: each sees the other\'s commits', async () => {
    const server = createSqliteAdapterFactory(file);
    const cli = secondFile();
    const accountId = newId();
    const [session, grant, token] = [newId(), newId(), newId()];
    await server('Session').upsert(session, { jti: session, uid: newId(), accountId }, 60);
    await server('Grant').upsert(grant, { jti: grant, accountId }, 60);
    await server('AccessToken').upsert(token, { jti: token, grantId: grant }, 60);
    expect(await createSqliteAdapterFactory(cli)('AccessToken').find(token)).toEqual({ jti: token, grantId: grant });

    // What `idp user disable` does while the server runs.
    expect(await revokeAccountStateSqlite(cli, accountId)).toBe(3);
    for (const [model, id] of [['Session', session], ['Grant', grant], ['AccessToken', token]] as const) expect(await server(model).find(id), model).toBeUndefined();

    // A consume is a compare-and-set across connections too. (One after the other: in one
    // process the second connection's BEGIN would wait for a COMMIT that this blocked event loop
    // cannot run.)
    const code = newId();
    await server('AuthorizationCode').upsert(code, { jti: code }, 60);
    await createSqliteAdapterFactory(cli)('AuthorizationCode').consume(code);
    await expect(server('AuthorizationCode').consume(code)).rejects.toMatchObject({ error: 'invalid_grant', error_detail: 'AuthorizationCode already consumed' });
  });

  it('reads a record again from memory, yet sees at once what this process writes and what another connection commits', async () => {
    const server = createSqliteAdapterFactory(file);
    const cli = secondFile();
    const raw = rawConnection();
    const [token, uid, session] = [newId(), newId(), newId()];
    await server('AccessToken').upsert(token, { jti: token, scope: 'a' }, 60);
    await server('Session').upsert(session, { jti: session, uid, accountId: 'acc' }, 60);
    // Twice: what is kept before the first check of data_version is dropped at that check.
    for (let round = 0; round < 2; round++) {
      expect(await server('AccessToken').find(token)).toEqual({ jti: token, scope: 'a' });
      expect(await server('Session').findByUid(uid)).toMatchObject({ jti: session });
      expect(await server('AccessToken').find('missing')).toBeUndefined();
    }

    // Served from memory now: the find statements do not run again.
    const statement = file.statement.bind(file);
    const ran: string[] = [];
    file.statement = (sql: string) => {
      if (sql.includes('SELECT payload, expires_at')) ran.push(sql);
      return statement(sql);
    };
    try {
      expect(await server('AccessToken').find(token)).toEqual({ jti: token, scope: 'a' });
      expect(await server('Session').findByUid(uid)).toMatchObject({ jti: session });
      expect(await server('AccessToken').find('missing')).toBeUndefined();
      expect(ran).toEqual([]);

      // This process's own write: the next read is the new record.
      await server('AccessToken').upsert(token, { jti: token, scope: 'b' }, 60);
      expect(await server('AccessToken').find(token)).toEqual({ jti: token, scope: 'b' });
      // Another process's commits (the CLI, plain SQL): seen on the very next read.
      await createSqliteAdapterFactory(cli)('Session').destroy(session);
      expect(await server('Session').findByUid(uid)).toBeUndefined();
      raw.prepare("UPDATE oidc_payloads SET payload = json_set(payload, '$.scope', 'c') WHERE model = 'AccessToken' AND id = ?").run(token);
      expect(await server('AccessToken').find(token)).toEqual({ jti: token, scope: 'c' });
      raw.prepare("INSERT INTO oidc_payloads (model, id, payload) VALUES ('AccessToken', 'missing', '{\"jti\":\"missing\"}')").run();
      expect(await server('AccessToken').find('missing')).toEqual({ jti: 'missing' });
      expect(ran.length).toBe(4);
    } finally {
      file.statement = statement;
    }
  });

  it('keeps nothing read while a write is in flight: a write that fails leaves the old record readable', async () => {
    file.open();
    const raw = rawConnection();
    const factory = createSqliteAdapterFactory(file);
    await factory('Grant').upsert('g', { jti: 'g' }, 60);
    expect(await factory('Grant').find('g')).toEqual({ jti: 'g' });
    raw.exec(`
      CREATE TABLE poison_parent (id text PRIMARY KEY);
      CREATE TABLE poison_child (parent text REFERENCES poison_parent (id) DEFERRABLE INITIALLY DEFERRED);
      CREATE TRIGGER poison AFTER INSERT ON oidc_payloads WHEN new.id LIKE 'poison%' BEGIN INSERT INTO poison_child VALUES ('missing'); END;
    `);
    // The destroy runs at once (this process reads its turn's writes), then the turn's COMMIT fails.
    const turn = Promise.allSettled([factory('Grant').destroy('g'), factory('AccessToken').upsert('poison-1', { jti: 'poison-1' }, 60)]);
    expect(await factory('Grant').find('g')).toBeUndefined();
    expect((await turn).map((result) => result.status)).toEqual(['rejected', 'rejected']);
    expect(await factory('Grant').find('g')).toEqual({ jti: 'g' });
  });

  it('keeps what was committed across close and reopen, and commits what is pending on close', async () => {
    const factory = createSqliteAdapterFactory(file);
    await factory('Session').upsert('committed', { jti: 'committed', uid: 'uid-1' }, 60);
    const pending = factory('Session').upsert('pending', { jti: 'pending' }, 60);
    file.close();
    await expect(pending).resolves.toBeUndefined();
    await expect(factory('Session').find('committed')).rejects.toThrow(/closed/);

    file = createProviderStateFile(dir);
    const reopened = createSqliteAdapterFactory(file);
    expect(await reopened('Session').findByUid('uid-1')).toEqual({ jti: 'committed', uid: 'uid-1' });
    expect(await reopened('Session').find('pending')).toEqual({ jti: 'pending' });
  });

  it('loses nothing committed when the process writing it is killed', async () => {
    const modules = ['../../src/db/state-sqlite.ts', '../../src/oidc/adapters/sqlite.ts'].map((path) => new URL(path, import.meta.url).href);
    // Another process writes, awaits the commit, and dies at once: no close(), no checkpoint.
    const child = `
      const [{ createProviderStateFile }, { createSqliteAdapterFactory }] = await Promise.all(${JSON.stringify(modules)}.map((url) => import(url)));
      const adapter = createSqliteAdapterFactory(createProviderStateFile(${JSON.stringify(dir)}))('Session');
      await adapter.upsert('survivor', { jti: 'survivor', uid: 'uid-s' }, 60);
      process.kill(process.pid, 'SIGKILL');`;
    const signal = await new Promise<NodeJS.Signals | null>((resolve) => {
      execFile(process.execPath, ['--input-type=module', '--eval', child], { timeout: 30_000 }, (error) => resolve(error?.signal ?? null));
    });
    expect(signal).toBe('SIGKILL');
    // The commit is still only in the WAL, which the next opener reads (and recovers).
    expect(statSync(`${file.path}-wal`).size).toBeGreaterThan(0);
    expect(await createSqliteAdapterFactory(file)('Session').findByUid('uid-s')).toEqual({ jti: 'survivor', uid: 'uid-s' });
  });

  it('hides expired rows from every read and sweeps them', async () => {
    const factory = createSqliteAdapterFactory(file);
    const accountId = newId();
    await factory('Session').upsert('expiring', { jti: 'expiring', uid: 'uid-e', accountId }, 1);
    await factory('DeviceCode').upsert('device', { jti: 'device', userCode: 'CODE', accountId }, 1);
    await factory('Session').upsert('lasting', { jti: 'lasting', accountId }, 60);
    await factory('Client').upsert('forever', { client_id: 'forever' });
    const store = createAccountStateStore({ redis: null, prefix: 'unused:', db: database.db, sqlite: file });
    expect(await store.countActiveSessions()).toBe(2);
    expect(await file.deleteExpired()).toBe(0);

    await sleep(1_100);

    expect(await factory('Session').find('expiring')).toBeUndefined();
    expect(await factory('Session').findByUid('uid-e')).toBeUndefined();
    expect(await factory('DeviceCode').findByUserCode('CODE')).toBeUndefined();
    expect((await store.listSessions(accountId)).map((session) => session.id)).toEqual(['lasting']);
    expect(await store.countActiveSessions()).toBe(1);
    const raw = rawConnection();
    expect(count(raw, '%')).toBe(4);
    expect(await file.deleteExpired()).toBe(2);
    expect((raw.prepare('SELECT id FROM oidc_payloads ORDER BY id').all() as Array<{ id: string }>).map((row) => row.id)).toEqual(['forever', 'lasting']);
  });

  it('sweeps a large backlog in several short transactions, rate-limit counters too', async () => {
    file.open();
    const raw = rawConnection();
    const insert = raw.prepare("INSERT INTO oidc_payloads (model, id, payload, expires_at) VALUES ('AccessToken', ?, '{}', ?)");
    const counter = raw.prepare('INSERT INTO rate_limits (key, points, expire) VALUES (?, 1, ?)');
    raw.exec('BEGIN');
    for (let index = 0; index < 1_200; index++) insert.run(`old-${index}`, Date.now() - 1_000);
    for (let index = 0; index < 10; index++) counter.run(`ended-${index}`, Date.now() - 1_000);
    counter.run('open', Date.now() + 60_000);
    raw.exec('COMMIT');
    await createSqliteAdapterFactory(file)('AccessToken').upsert('young', { jti: 'young' }, 60);
    const commits = file.commits;

    expect(await file.deleteExpired()).toBe(1_210);
    // 500, 500 and 200 records, then the counters.
    expect(file.commits - commits).toBe(4);
    expect(count(raw, '%')).toBe(1);
    expect(raw.prepare('SELECT key FROM rate_limits').all()).toEqual([{ key: 'open' }]);
  });

  it('refuses a file written by a newer version, saying so', () => {
    file.open();
    rawConnection().exec('PRAGMA user_version = 99');
    file.close();
    file = createProviderStateFile(dir);
    expect(() => file.open()).toThrow(/schema version 99, newer than this version of idp knows \(2\)/);
  });
});
