import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlAdapterFactory, deleteExpiredPayloads } from '../../src/oidc/adapters/sql.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { adapterContract, newId } from './contract.ts';

adapterContract('SqlAdapter', async () => {
  const database = await createTestDatabase();
  return { factory: createSqlAdapterFactory(database.db), teardown: () => database.drop() };
});

describe('deleteExpiredPayloads', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database?.drop();
  });

  async function storedIds(): Promise<string[]> {
    const { rows } = await database.db.query<{ id: string }>('SELECT id FROM oidc_payloads ORDER BY id');
    return rows.map((row) => row.id);
  }

  it('deletes only expired rows and returns how many', async () => {
    const factory = createSqlAdapterFactory(database.db);
    const [expiredToken, expiredSession, lasting, forever] = [newId(), newId(), newId(), newId()];
    await factory('AccessToken').upsert(expiredToken, { jti: expiredToken, grantId: 'g' }, 1);
    await factory('Session').upsert(expiredSession, { jti: expiredSession, uid: newId() }, 1);
    await factory('AccessToken').upsert(lasting, { jti: lasting }, 60);
    await factory('Client').upsert(forever, { client_id: forever });
    expect(await deleteExpiredPayloads(database.db)).toBe(0);

    await sleep(1_500);

    expect(await deleteExpiredPayloads(database.db)).toBe(2);
    expect(await storedIds()).toEqual([lasting, forever].sort());
    expect(await factory('AccessToken').find(lasting)).toEqual({ jti: lasting });
    expect(await deleteExpiredPayloads(database.db)).toBe(0);
  });
});
