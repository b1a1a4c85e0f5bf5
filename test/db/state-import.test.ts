import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqlAdapterFactory } from '../../src/oidc/adapters/sql.ts';
import { createSqliteAdapterFactory } from '../../src/oidc/adapters/sqlite.ts';
import { createProviderStateFile, type ProviderStateFile } from '../../src/db/state-sqlite.ts';
import { importEmbeddedState } from '../../src/db/state-import.ts';
import { createLimiterFactory } from '../../src/security/rate-limits.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { newId } from '../adapters/contract.ts';

const quiet = { info: () => undefined };

/*
 * An embedded install upgraded from the version that kept provider state in PGlite: its live
 * sessions, grants and tokens move to the SQLite file at the first start, so nobody is signed out.
 */
describe('moving provider state from the embedded database to its SQLite file', () => {
  let database: TestDatabase;
  let file: ProviderStateFile;

  beforeAll(async () => {
    database = await createTestDatabase();
    file = createProviderStateFile(database.settings.dataDir);
  });
  afterAll(async () => {
    file?.close();
    await database?.drop();
  });

  it('moves what is live, keeps a consumed code consumed, drops what expired, leaves the attempts in the database', async () => {
    const old = createSqlAdapterFactory(database.db);
    const [accountId, grantId, session, code, token, expired] = [newId(), newId(), newId(), newId(), newId(), newId()];
    await old('Session').upsert(session, { jti: session, uid: 'uid-1', accountId, loginTs: 1_700_000_000 }, 600);
    await old('Grant').upsert(grantId, { jti: grantId, accountId, clientId: 'app' }, 600);
    await old('AuthorizationCode').upsert(code, { jti: code, grantId, accountId }, 60);
    await old('AuthorizationCode').consume(code);
    await old('RefreshToken').upsert(token, { jti: token, grantId, accountId, nested: { list: [1, 'two', null] } }, 600);
    await old('AccessToken').upsert(expired, { jti: expired, grantId, accountId }, 1);
    await database.db.query(
      `INSERT INTO oidc_payloads (model, id, payload, expires_at) VALUES ('FederationAttempt', 'attempt-1', '{"state":"x"}', now() + interval '1 minute')`,
    );
    await sleep(1_100);

    expect(await importEmbeddedState(database.db, file, quiet)).toBe(4);

    const moved = createSqliteAdapterFactory(file);
    expect(await moved('Session').findByUid('uid-1')).toMatchObject({ jti: session, accountId });
    expect(await moved('Grant').find(grantId)).toMatchObject({ clientId: 'app' });
    expect(await moved('RefreshToken').find(token)).toMatchObject({ nested: { list: [1, 'two', null] } });
    expect(await moved('AccessToken').find(expired)).toBeUndefined();
    // Consumed before the move, so a replay after it is still a replay.
    expect((await moved('AuthorizationCode').find(code))?.consumed).toEqual(expect.any(Number));
    await expect(moved('AuthorizationCode').consume(code)).rejects.toThrow('invalid_grant');
    // Nothing but the attempts is left in the database's table.
    const { rows } = await database.db.query<{ model: string }>('SELECT model FROM oidc_payloads ORDER BY model');
    expect(rows.map((row) => row.model)).toEqual(['FederationAttempt']);
  });

  it('moves nothing the second time, and never overwrites what the file already has', async () => {
    expect(await importEmbeddedState(database.db, file, quiet)).toBe(0);
    const old = createSqlAdapterFactory(database.db);
    const moved = createSqliteAdapterFactory(file);
    const id = newId();
    await moved('Session').upsert(id, { jti: id, newer: true }, 600);
    await old('Session').upsert(id, { jti: id, newer: false }, 600);
    expect(await importEmbeddedState(database.db, file, quiet)).toBe(1);
    expect(await moved('Session').find(id)).toEqual({ jti: id, newer: true });
  });

  it('moves the open rate-limit windows, so an upgrade lifts no lockout, and drops the ended ones', async () => {
    const now = Date.now();
    await database.db.query(
      'INSERT INTO rate_limits (key, points, expire) VALUES ($1, 7, $2), ($3, 3, $4), ($5, 2, $6)',
      ['limit:login-streak:open', now + 600_000, 'limit:login-ip:ended', now - 1_000, 'limit:login-gate:kept', now + 600_000],
    );
    // The file already counts one of them: its count stays.
    const limiter = createLimiterFactory({ redis: null, db: database.db, sqlite: file, prefix: '' });
    await limiter('login-gate', { points: 1, durationSeconds: 600 }).take('kept', 5);

    // Both open windows leave the database; the one the file had keeps the file's count.
    expect(await importEmbeddedState(database.db, file, quiet)).toBe(2);
    const streak = limiter('login-streak', { points: 10, durationSeconds: 600 });
    expect((await streak.take('open')).consumed).toBe(8);
    expect((await limiter('login-gate', { points: 1, durationSeconds: 600 }).take('kept')).consumed).toBe(6);
    expect((await limiter('login-ip', { points: 10, durationSeconds: 600 }).take('ended')).consumed).toBe(1);
    const { rows } = await database.db.query('SELECT key FROM rate_limits');
    expect(rows).toEqual([]);
  });
});
