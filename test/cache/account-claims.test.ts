import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../helpers/app.ts';
import { usingPostgres } from '../helpers/database.ts';
import { connectPostgres, type Database } from '../../src/db/database.ts';
import { openEmbedded } from '../../src/db/embedded.ts';

/** Polls until check() holds, or throws after `limitMs`. */
async function within(limitMs: number, check: () => Promise<boolean>): Promise<void> {
  const started = performance.now();
  while (!(await check())) {
    if (performance.now() - started > limitMs) throw new Error(`not within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const lookups = async (app: TestApp, result: 'hit' | 'miss') => {
  const text = await app.deps.metrics!.registry.getSingleMetricAsString('idp_config_cache_lookups_total');
  return Number(new RegExp(`result="${result}"} (\\d+)`).exec(text)?.[1] ?? 0);
};

/** Whether asking for the account was answered from memory (a hit) rather than a query. */
async function answeredFromMemory(app: TestApp, id: string): Promise<boolean> {
  const before = await lookups(app, 'miss');
  await app.deps.accounts.forProvider(id);
  return (await lookups(app, 'miss')) === before;
}

/*
 * What oidc-provider reads of an account on every refresh, userinfo and introspection is
 * remembered per instance (AccountService.forProvider), and a change to the account reaches the
 * cache: at once for this instance's own changes, by notification (migration 0027) for anyone
 * else's, and then only for that account.
 */
describe('account claims cache', () => {
  let app: TestApp;
  // Another writer: the CLI over the server's socket (embedded), or a plain connection (PostgreSQL).
  let other: Database;

  beforeAll(async () => {
    app = await startTestApp();
    other = app.storage.settings.databaseUrl ? connectPostgres(app.storage.settings.databaseUrl, 1) : await openEmbedded(app.storage.settings.dataDir, 'cli');
  });
  afterAll(async () => {
    await other?.close();
    await app?.close();
  });

  const create = async (email: string) => (await app.deps.accounts.create({ email, password: 'correct horse battery', name: 'Ada' })).id;
  // An account's own creation is announced too (migration 0027); on PostgreSQL that notice can
  // arrive after the first read and forget it once. Read until the answer comes from memory.
  const cached = (id: string) => within(5000, () => answeredFromMemory(app, id));

  it('answers a known account from memory after the first read', async () => {
    const id = await create('cached@example.com');
    expect((await app.deps.accounts.forProvider(id))?.claims.name).toBe('Ada');
    await cached(id);
    expect(await answeredFromMemory(app, id)).toBe(true);
  });

  it('hands out answers nobody can change for the next caller', async () => {
    const id = await create('frozen@example.com');
    const first = await app.deps.accounts.forProvider(id);
    expect(Object.isFrozen(first?.claims)).toBe(true);
    const copy = await app.deps.accounts.claims(id);
    copy!.name = 'Mallory';
    expect((await app.deps.accounts.forProvider(id))?.claims.name).toBe('Ada');
  });

  it('sees its own instance\'s change at once: disabling, revoking, new roles', async () => {
    const id = await create('own@example.com');
    expect(await app.deps.accounts.forProvider(id)).not.toBeNull();
    await app.deps.accounts.setDisabled('own@example.com', true);
    expect(await app.deps.accounts.forProvider(id)).toBeNull();
    await app.deps.accounts.setDisabled('own@example.com', false);
    expect((await app.deps.accounts.forProvider(id))?.sessionsValidAfter).toBeNull();

    await app.deps.revokeAccountState(id);
    expect((await app.deps.accounts.forProvider(id))?.sessionsValidAfter).toEqual(expect.any(Number));

    await app.deps.rbac.createRole({ name: 'auditor' });
    await app.deps.rbac.grantAccountRole(id, 'auditor');
    expect((await app.deps.accounts.forProvider(id))?.claims.roles).toEqual(['auditor']);
  });

  it('sees another writer\'s change to one account, and keeps every other account cached', async () => {
    const [changed, untouched] = [await create('changed@example.com'), await create('untouched@example.com')];
    await cached(changed);
    await cached(untouched);

    await other.query('UPDATE accounts SET name = $2 WHERE id = $1', [changed, 'Grace']);
    // Embedded: heard in this process as the CLI's statement committed; PostgreSQL: a moment later.
    await within(5000, async () => (await app.deps.accounts.forProvider(changed))?.claims.name === 'Grace');
    expect(await answeredFromMemory(app, untouched)).toBe(true);

    // (Deleting an account also cascades to account_roles, whose trigger drops the whole cache.)
    await other.query('DELETE FROM accounts WHERE id = $1', [changed]);
    await within(5000, async () => (await app.deps.accounts.forProvider(changed)) === null);
  });

  it.skipIf(!usingPostgres)('reaches a second instance on the same database', async () => {
    const second = await startTestApp({}, { sharing: app });
    try {
      const id = await create('two@example.com');
      expect((await second.deps.accounts.forProvider(id))?.claims.name).toBe('Ada');
      await app.deps.accounts.setDisabled('two@example.com', true);
      await within(5000, async () => (await second.deps.accounts.forProvider(id)) === null);
    } finally {
      await second.close();
    }
  });

  // Last: it empties the table this file's other tests use.
  it('drops every account on a TRUNCATE, which names no row', async () => {
    const id = await create('truncated@example.com');
    await cached(id);
    await other.query('TRUNCATE accounts CASCADE');
    await within(5000, async () => (await app.deps.accounts.forProvider(id)) === null);
  });
});
