import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

describe('the database write observer', () => {
  let database: TestDatabase;
  const seen: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    database.db.setWriteObserver((statement) => seen.push(statement));
  });
  afterAll(async () => database?.drop());

  it('hears a write on its own at once, a transaction only once it commits, and reads or rolled-back writes never', async () => {
    const { db } = database;
    seen.length = 0;
    await db.query('SELECT count(*) FROM clients');
    await db.query(`INSERT INTO roles (name) VALUES ('observed-1')`);
    expect(seen).toEqual([`INSERT INTO roles (name) VALUES ('observed-1')`]);

    seen.length = 0;
    let insideTransaction: string[] = [];
    await db.transaction(async (tx) => {
      await tx.query(`INSERT INTO roles (name) VALUES ('observed-2')`);
      await tx.query(`SELECT 1`);
      await tx.query(`UPDATE roles SET description = 'two' WHERE name = 'observed-2'`);
      insideTransaction = [...seen];
    });
    expect(insideTransaction).toEqual([]);
    expect(seen).toEqual([`INSERT INTO roles (name) VALUES ('observed-2')`, `UPDATE roles SET description = 'two' WHERE name = 'observed-2'`]);

    seen.length = 0;
    await expect(db.transaction(async (tx) => {
      await tx.query(`INSERT INTO roles (name) VALUES ('observed-3')`);
      throw new Error('changed my mind');
    })).rejects.toThrow('changed my mind');
    expect(seen).toEqual([]);
  });
});
