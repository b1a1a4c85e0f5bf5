import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, usingPostgres, type TestDatabase } from '../helpers/database.ts';
import { TransactionMisuseError } from '../../src/db/transaction-scope.ts';
import { unavailableDependency } from '../../src/http/unavailable.ts';

describe(`the pool used from inside a transaction (${usingPostgres ? 'PostgreSQL' : 'embedded'})`, () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    await database.db.query('CREATE TABLE misuse (n int)');
  });
  afterAll(async () => database?.drop());

  it.each([
    ['db.query()', (db: TestDatabase['db']) => db.query('SELECT 1')],
    ['db.withConnection()', (db: TestDatabase['db']) => db.withConnection((client) => client.query('SELECT 1'))],
    ['db.transaction()', (db: TestDatabase['db']) => db.transaction((tx) => tx.query('SELECT 1'))],
  ])('%s fails at once, naming the fix, and the transaction rolls back', async (what, misuse) => {
    const { db } = database;
    const attempt = db.transaction(async (tx) => {
      await tx.query('INSERT INTO misuse VALUES (1)');
      await misuse(db);
    });
    const error = await attempt.then(() => null, (thrown: unknown) => thrown as Error);
    expect(error).toBeInstanceOf(TransactionMisuseError);
    expect(error?.message).toContain(`${what} was called inside db.transaction()`);
    expect(error?.message).toContain("the transaction's client");
    // A programming error, not an outage: it must surface as a 500, never as a 503 to retry.
    expect(unavailableDependency(error)).toBeNull();
    expect((await db.query<{ n: number }>('SELECT count(*)::int AS n FROM misuse')).rows).toEqual([{ n: 0 }]);
  });

  it('also catches the pool used from work the callback started without awaiting', async () => {
    const { db } = database;
    let sideways: Promise<unknown> | undefined;
    await db.transaction(async (tx) => {
      sideways = Promise.resolve().then(() => db.query('SELECT 1'));
      await sideways.catch(() => undefined);
      await tx.query('SELECT 1');
    });
    await expect(sideways).rejects.toBeInstanceOf(TransactionMisuseError);
  });

  it('lets work that outlives the transaction use the pool once it has ended', async () => {
    const { db } = database;
    let later: Promise<unknown> | undefined;
    let release!: () => void;
    const ended = new Promise<void>((resolve) => (release = resolve));
    await db.transaction(async (tx) => {
      await tx.query('INSERT INTO misuse VALUES (2)');
      later = ended.then(() => db.query<{ n: number }>('SELECT count(*)::int AS n FROM misuse WHERE n = 2'));
    });
    release();
    expect((await later as { rows: unknown[] }).rows).toEqual([{ n: 1 }]);
  });

  it('leaves transactions and queries running side by side alone', async () => {
    const { db } = database;
    const results = await Promise.all([
      db.transaction(async (tx) => (await tx.query<{ n: number }>('SELECT 1 AS n')).rows[0]!.n),
      db.query<{ n: number }>('SELECT 2 AS n').then((result) => result.rows[0]!.n),
      db.transaction(async (tx) => (await tx.query<{ n: number }>('SELECT 3 AS n')).rows[0]!.n),
    ]);
    expect(results).toEqual([1, 2, 3]);
  });
});
