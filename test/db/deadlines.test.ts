import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPostgres, type Database } from '../../src/db/database.ts';
import { unavailableDependency } from '../../src/http/unavailable.ts';
import { idleInTransactionMs } from '../../src/db/deadlines.ts';
import { createTestDatabaseSettings, usingPostgres } from '../helpers/database.ts';
import { startFreezeProxy, type FreezeProxy } from '../helpers/freeze-proxy.ts';

if (!usingPostgres) console.warn('\n!! SKIPPED the PostgreSQL deadline tests: they need DATABASE_URL (the embedded wait is tested in wire-server-floor.test.ts).\n');

// Short deadlines keep the test quick; what is asserted is which error comes and what happens to
// the connection, never how fast.
const timeouts = { databaseConnectMs: 400, databaseStatementMs: 300, databasePoolWaitMs: 600, embeddedFloorMs: 300 };

const failure = (work: Promise<unknown>) => work.then(() => null, (error: unknown) => error as Error & { code?: string });

describe.skipIf(!usingPostgres)('PostgreSQL deadlines', () => {
  let fresh: Awaited<ReturnType<typeof createTestDatabaseSettings>>;
  let proxy: FreezeProxy;
  let db: Database;
  beforeAll(async () => {
    fresh = await createTestDatabaseSettings();
    proxy = await startFreezeProxy(fresh.settings.databaseUrl!);
    db = connectPostgres(proxy.url, 3, timeouts);
  });
  afterAll(async () => {
    proxy?.thaw();
    await db?.close();
    await proxy?.close();
    await fresh?.drop();
  });

  it('has PostgreSQL end a transaction left idle, as the embedded wire server does', async () => {
    const { rows } = await db.query<{ value: string }>("SELECT current_setting('idle_in_transaction_session_timeout') AS value");
    expect(rows[0]!.value).toBe(`${idleInTransactionMs(timeouts) / 1000}s`);
  });

  it('lets the server cancel a slow statement (57014) and keeps that connection', async () => {
    const error = await failure(db.transaction((tx) => tx.query('SELECT pg_sleep(5)')));
    expect(error?.code).toBe('57014');
    expect(unavailableDependency(error)).toBe('database');
    expect(db.pool.totalCount).toBe(1);
    expect(db.pool.idleCount).toBe(1);
    expect((await db.query<{ n: number }>('SELECT 1 AS n')).rows).toEqual([{ n: 1 }]);
  });

  it('ends every wait on a server that accepts connections and never answers, drops those connections, and recovers', async () => {
    await Promise.all([db.query('SELECT 1'), db.query('SELECT 1'), db.transaction((tx) => tx.query('SELECT 1'))]);
    expect(db.pool.totalCount).toBeGreaterThan(0);
    proxy.freeze();
    const errors = await Promise.all([
      failure(db.query('SELECT 1')),
      failure(db.transaction((tx) => tx.query('SELECT 1'))),
      failure(db.transaction(async (tx) => {
        await tx.query('SELECT 1');
      })),
      failure(db.query('SELECT 2')),
      failure(db.query('SELECT 3')),
    ]);
    for (const error of errors) {
      expect(error).not.toBeNull();
      expect(unavailableDependency(error)).toBe('database');
    }
    // Timed-out connections are closed, not handed to the next caller.
    await expect.poll(() => db.pool.totalCount, { timeout: 5000 }).toBe(0);

    proxy.thaw();
    await expect.poll(async () => (await db.query<{ n: number }>('SELECT 1 AS n').catch(() => ({ rows: [] }))).rows, { timeout: 10_000, interval: 200 }).toEqual([{ n: 1 }]);
  });
});
