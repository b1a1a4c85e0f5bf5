import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlAdapterFactory, deleteExpiredPayloads, revokeAccountStateSql } from '../../src/oidc/adapters/sql.ts';
import { createAccountStateRevoker, createAccountStateStore } from '../../src/oidc/adapters/account-state.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { adapterContract, newId } from './contract.ts';

adapterContract('SqlAdapter', async () => {
  const database = await createTestDatabase();
  return {
    factory: createSqlAdapterFactory(database.db),
    // Through the app's factory: without Redis it must pick the SQL table.
    revokeAccountState: createAccountStateRevoker({ redis: null, prefix: 'unused:', db: database.db }),
    accountState: createAccountStateStore({ redis: null, prefix: 'unused:', db: database.db }),
    teardown: () => database.drop(),
  };
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

describe('account_id', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });

  afterAll(async () => {
    await database?.drop();
  });

  async function accountIdOf(model: string, id: string): Promise<string | null | undefined> {
    const { rows } = await database.db.query<{ account_id: string | null }>('SELECT account_id FROM oidc_payloads WHERE model = $1 AND id = $2', [model, id]);
    return rows[0]?.account_id;
  }

  it('follows payload.accountId on every upsert', async () => {
    const factory = createSqlAdapterFactory(database.db);
    const [id, accountId] = [newId(), newId()];
    await factory('Session').upsert(id, { jti: id }, 60);
    expect(await accountIdOf('Session', id)).toBeNull();
    await factory('Session').upsert(id, { jti: id, accountId }, 60);
    expect(await accountIdOf('Session', id)).toBe(accountId);
    await factory('Session').upsert(id, { jti: id, accountId: '' }, 60);
    expect(await accountIdOf('Session', id)).toBeNull();
  });

  it('misses rows written before the column existed (no backfill), except under a newer Grant', async () => {
    const factory = createSqlAdapterFactory(database.db);
    const [accountId, oldSession, grantId, oldToken] = [newId(), newId(), newId(), newId()];
    // As stored before migration 0009: the account only in the payload.
    for (const [model, id, grant] of [['Session', oldSession, null], ['AccessToken', oldToken, grantId]] as const) {
      await database.db.query(
        `INSERT INTO oidc_payloads (model, id, payload, grant_id, expires_at) VALUES ($1, $2, $3::jsonb, $4, now() + interval '1 minute')`,
        [model, id, JSON.stringify({ jti: id, accountId, grantId: grant ?? undefined }), grant],
      );
    }
    await factory('Grant').upsert(grantId, { jti: grantId, accountId }, 60);

    expect(await revokeAccountStateSql(database.db, accountId)).toBe(2);
    expect(await factory('Grant').find(grantId)).toBeUndefined();
    expect(await factory('AccessToken').find(oldToken)).toBeUndefined();
    expect(await factory('Session').find(oldSession)).toBeDefined();
  });

  it('does not list rows written before the column existed, but revokes them by id', async () => {
    const factory = createSqlAdapterFactory(database.db);
    const store = createAccountStateStore({ redis: null, prefix: 'unused:', db: database.db });
    const [accountId, oldSession, oldGrant, token] = [newId(), newId(), newId(), newId()];
    // As stored before migration 0009: the account only in the payload.
    await database.db.query(
      `INSERT INTO oidc_payloads (model, id, payload, expires_at) VALUES ('Grant', $1, $2::jsonb, now() + interval '1 minute')`,
      [oldGrant, JSON.stringify({ jti: oldGrant, accountId, clientId: 'client-1' })],
    );
    await database.db.query(
      `INSERT INTO oidc_payloads (model, id, payload, uid, expires_at) VALUES ('Session', $1, $2::jsonb, $3, now() + interval '1 minute')`,
      [oldSession, JSON.stringify({ jti: oldSession, uid: oldSession, accountId, authorizations: { 'client-1': { grantId: oldGrant } } }), oldSession],
    );
    await factory('AccessToken').upsert(token, { jti: token, grantId: oldGrant, accountId }, 60);

    expect(await store.listSessions(accountId)).toEqual([]);
    expect(await store.listGrants(accountId)).toEqual([]);
    expect(await store.revokeSession(newId(), oldSession)).toBe(false);
    expect(await store.revokeSession(accountId, oldSession)).toBe(true);
    expect(await factory('Session').find(oldSession)).toBeUndefined();
    expect(await factory('Grant').find(oldGrant)).toBeUndefined();
    expect(await factory('AccessToken').find(token)).toBeUndefined();
  });

  it('refuses to revoke an empty account id', async () => {
    await expect(revokeAccountStateSql(database.db, '')).rejects.toThrow(TypeError);
  });
});
