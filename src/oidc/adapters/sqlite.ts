import { errors, type Adapter, type AdapterFactory, type AdapterPayload } from 'oidc-provider';
import { UNEXPIRED, type ProviderStateFile } from '../../db/state-sqlite.ts';
import type { AccountGrantRecord, AccountRecord } from './account-state.ts';

/*
 * The embedded mode's provider state: one table, oidc_payloads, in the SQLite file of
 * src/db/state-sqlite.ts, with the same rules as the SQL adapter (sql.ts) on PostgreSQL. The
 * indexed fields (grant_id, account_id, uid, user_code) are copied out of the payload into
 * columns; expiry is checked on every read, so rows past expires_at are invisible until
 * deleteExpired removes them. The payload is stored as the JSON text JSON.stringify made, so it
 * comes back exactly, key order included.
 * Writes go through the file's group commit: their statements run at once (a compare-and-set
 * cannot race anything in this process) and under the write lock (nor anything in another), and
 * they resolve once committed. Reads run at once and see this process's pending writes.
 */

interface PayloadRow {
  payload: string;
}

interface FoundRow {
  payload: string;
  expires_at: number | null;
}

const UPSERT = `
INSERT INTO oidc_payloads (model, id, payload, grant_id, user_code, uid, expires_at, consumed_at, account_id)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (model, id) DO UPDATE SET
  payload = excluded.payload, grant_id = excluded.grant_id, user_code = excluded.user_code,
  uid = excluded.uid, expires_at = excluded.expires_at, consumed_at = excluded.consumed_at,
  account_id = excluded.account_id`;
const FIND = `SELECT payload, expires_at FROM oidc_payloads WHERE model = ? AND id = ? AND ${UNEXPIRED}`;
const FIND_BY_UID = `SELECT payload, expires_at FROM oidc_payloads WHERE model = ? AND uid = ? AND ${UNEXPIRED} LIMIT 1`;
const FIND_BY_USER_CODE = `SELECT payload, expires_at FROM oidc_payloads WHERE model = ? AND user_code = ? AND ${UNEXPIRED} LIMIT 1`;
// json_set edits the stored text in place: the other keys keep their order and their text.
const CONSUME = `
UPDATE oidc_payloads SET consumed_at = ?, payload = json_set(payload, '$.consumed', ?)
WHERE model = ? AND id = ? AND consumed_at IS NULL AND ${UNEXPIRED}`;
const DESTROY = 'DELETE FROM oidc_payloads WHERE model = ? AND id = ?';
const REVOKE_GRANT_ID = 'DELETE FROM oidc_payloads WHERE grant_id = ?';

class SqliteAdapter implements Adapter {
  readonly #file: ProviderStateFile;
  readonly #model: string;

  constructor(file: ProviderStateFile, model: string) {
    this.#file = file;
    this.#model = model;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    const now = Date.now();
    // An upsert replaces the whole record, as in the Redis adapter: consumed only if the payload says so.
    await this.#file.write(() => this.#file.statement(UPSERT).run(
      this.#model,
      id,
      JSON.stringify(payload),
      payload.grantId ?? null,
      payload.userCode ?? null,
      payload.uid ?? null,
      expiresIn === undefined ? null : Math.round(now + expiresIn * 1000),
      payload.consumed ? now : null,
      // || rather than ??: an empty accountId is no account, as in the Redis adapter.
      payload.accountId || null,
    ));
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return this.#findOne(FIND, 'id', id);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.#findOne(FIND_BY_USER_CODE, 'userCode', userCode);
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.#findOne(FIND_BY_UID, 'uid', uid);
  }

  /** Through the file's read cache (ProviderStateFile.cachedRead), which answers as the query would. */
  #findOne(sql: string, by: string, value: string): AdapterPayload | undefined {
    const text = this.#file.cachedRead(`${this.#model}\0${by}\0${value}`, () => {
      const row = this.#file.statement(sql).get(this.#model, value, Date.now()) as FoundRow | undefined;
      return row && { text: row.payload, expiresAt: row.expires_at };
    });
    return text === undefined ? undefined : (JSON.parse(text) as AdapterPayload);
  }

  /**
   * The `consumed_at IS NULL` condition makes this a compare-and-set: the UPDATE runs at once
   * under the write lock, so of concurrent consumes, in this process or any other, exactly one
   * matches the row.
   */
  async consume(id: string): Promise<void> {
    const now = Date.now();
    const changes = await this.#file.write(() => this.#file.statement(CONSUME).run(now, Math.floor(now / 1000), this.#model, id, now).changes);
    if (Number(changes) === 1) return;
    const exists = (await this.find(id)) !== undefined;
    throw new errors.InvalidGrant(`${this.#model} ${exists ? 'already consumed' : 'not found or expired'}`);
  }

  async destroy(id: string): Promise<void> {
    await this.#file.write(() => this.#file.statement(DESTROY).run(this.#model, id));
  }

  /** oidc-provider calls this on one model's adapter yet expects every token of the grant gone. */
  async revokeByGrantId(grantId: string): Promise<void> {
    await this.#file.write(() => this.#file.statement(REVOKE_GRANT_ID).run(grantId));
  }
}

export function createSqliteAdapterFactory(file: ProviderStateFile): AdapterFactory {
  return (model: string) => new SqliteAdapter(file, model);
}

function requireAccountId(accountId: string): void {
  if (!accountId) throw new TypeError('accountId must be a non-empty string');
}

function toRecords(rows: unknown[]): AccountRecord[] {
  return (rows as Array<{ id: string; payload: string }>).map((row) => ({ id: row.id, payload: JSON.parse(row.payload) as AdapterPayload }));
}

/** How many of the rows a DELETE … RETURNING live removed were still live. */
function countLive(rows: unknown[]): number {
  return (rows as Array<{ live: number }>).filter((row) => row.live === 1).length;
}

const GRANT_IDS_OF_ACCOUNT = "SELECT id FROM oidc_payloads WHERE model = 'Grant' AND account_id = ?";
const DELETE_ACCOUNT_ROWS = `DELETE FROM oidc_payloads WHERE account_id = ? RETURNING ${UNEXPIRED} AS live`;
const DELETE_UNDER_GRANTS = `DELETE FROM oidc_payloads WHERE grant_id IN (SELECT value FROM json_each(?)) RETURNING ${UNEXPIRED} AS live`;

/**
 * Ends everything one account holds, atomically: its own rows (sessions, grants, codes, tokens)
 * and every row issued under one of its Grant rows, even one without account_id (a Grant row
 * past its expiry still counts until deleteExpired removes it). Expired rows go too but are not
 * counted, as in the Redis adapter where they are already gone: returns how many live records
 * it deleted.
 * A row written after it survives: a request of the account already in flight can still save the
 * Session or Grant it loaded before, so a caller that must be airtight also has to refuse the
 * account's older logins elsewhere (e.g. in findAccount).
 */
export async function revokeAccountStateSqlite(file: ProviderStateFile, accountId: string): Promise<number> {
  requireAccountId(accountId);
  const now = Date.now();
  return file.write(() => {
    // Read before either DELETE, as PostgreSQL's single statement sees them: the second cannot
    // miss a grant because the first removed its row.
    const grantIds = (file.statement(GRANT_IDS_OF_ACCOUNT).all(accountId) as Array<{ id: string }>).map((row) => row.id);
    let removed = countLive(file.statement(DELETE_ACCOUNT_ROWS).all(accountId, now));
    if (grantIds.length) removed += countLive(file.statement(DELETE_UNDER_GRANTS).all(JSON.stringify(grantIds), now));
    return removed;
  });
}

const ACCOUNT_SESSIONS = `SELECT id, payload FROM oidc_payloads WHERE account_id = ? AND model = 'Session' AND ${UNEXPIRED}`;

/** The account's live Session rows (unordered), found through the account_id index. */
export async function findAccountSessionsSqlite(file: ProviderStateFile, accountId: string): Promise<AccountRecord[]> {
  requireAccountId(accountId);
  return toRecords(file.statement(ACCOUNT_SESSIONS).all(accountId, Date.now()));
}

// The correlated subquery reads each grant's tokens through the grant_id index.
const ACCOUNT_GRANTS = `
SELECT grants.id, grants.payload, (
  SELECT max(json_extract(tokens.payload, '$.iat')) FROM oidc_payloads AS tokens
  WHERE tokens.grant_id = grants.id
    AND tokens.model IN ('AccessToken', 'RefreshToken')
    AND json_type(tokens.payload, '$.iat') IN ('integer', 'real')
    AND (tokens.expires_at IS NULL OR tokens.expires_at > :now)
) AS last_used_iat
FROM oidc_payloads AS grants
WHERE grants.account_id = :account AND grants.model = 'Grant' AND (grants.expires_at IS NULL OR grants.expires_at > :now)`;

/**
 * The account's live Grant rows (unordered), each with the newest numeric `iat` of the live
 * access and refresh tokens under it (null: none), in one statement.
 */
export async function findAccountGrantsSqlite(file: ProviderStateFile, accountId: string): Promise<AccountGrantRecord[]> {
  requireAccountId(accountId);
  const rows = file.statement(ACCOUNT_GRANTS).all({ account: accountId, now: Date.now() }) as Array<{ id: string; payload: string; last_used_iat: number | null }>;
  return rows.map((row) => ({ id: row.id, payload: JSON.parse(row.payload) as AdapterPayload, lastUsedIat: row.last_used_iat }));
}

const DELETE_OWN_GRANT = `DELETE FROM oidc_payloads WHERE model = 'Grant' AND id = ? AND json_extract(payload, '$.accountId') = ? AND ${UNEXPIRED} RETURNING id`;

/**
 * Revokes one live Grant of the account (its payload names the account) and every row under it,
 * atomically. False when there is no such Grant; nothing changes then.
 */
export async function revokeAccountGrantSqlite(file: ProviderStateFile, accountId: string, grantId: string): Promise<boolean> {
  requireAccountId(accountId);
  if (!grantId) return false;
  const now = Date.now();
  return file.write(() => {
    if (file.statement(DELETE_OWN_GRANT).all(grantId, accountId, now).length === 0) return false;
    file.statement(REVOKE_GRANT_ID).run(grantId);
    return true;
  });
}

const DELETE_OWN_SESSION = `DELETE FROM oidc_payloads WHERE model = 'Session' AND id = ? AND json_extract(payload, '$.accountId') = ? AND ${UNEXPIRED} RETURNING payload`;
// Every Grant row of those ids, expired or not, that names another account (or none).
const FOREIGN_GRANTS = `
SELECT id FROM oidc_payloads
WHERE model = 'Grant' AND id IN (SELECT value FROM json_each(?)) AND json_extract(payload, '$.accountId') IS NOT ?`;
const DELETE_GRANTS = "DELETE FROM oidc_payloads WHERE model = 'Grant' AND id IN (SELECT value FROM json_each(?))";
const DELETE_UNDER = 'DELETE FROM oidc_payloads WHERE grant_id IN (SELECT value FROM json_each(?))';

/** The grant ids a Session's authorizations name: distinct, non-empty strings. */
function authorizedGrantIds(payload: AdapterPayload): string[] {
  const { authorizations } = payload as { authorizations?: unknown };
  if (typeof authorizations !== 'object' || authorizations === null || Array.isArray(authorizations)) return [];
  const ids = new Set<string>();
  for (const authorization of Object.values(authorizations)) {
    const grantId = (authorization as { grantId?: unknown } | null)?.grantId;
    if (typeof grantId === 'string' && grantId !== '') ids.add(grantId);
  }
  return [...ids];
}

/**
 * Ends one live Session of the account and revokes every Grant its authorizations name, with
 * every row under them, atomically. False when there is no such Session; nothing changes then.
 * An authorized Grant whose row names another account is left alone; one whose row is gone (or
 * expired) still has the rows under it removed, as in revokeAccountStateSqlite.
 * The ownership checks read the payload's accountId rather than the account_id column, as the
 * SQL adapter does (primary-key lookups).
 */
export async function revokeAccountSessionSqlite(file: ProviderStateFile, accountId: string, sessionId: string): Promise<boolean> {
  requireAccountId(accountId);
  if (!sessionId) return false;
  const now = Date.now();
  return file.write(() => {
    const session = file.statement(DELETE_OWN_SESSION).get(sessionId, accountId, now) as PayloadRow | undefined;
    if (!session) return false;
    const authorized = authorizedGrantIds(JSON.parse(session.payload) as AdapterPayload);
    if (authorized.length === 0) return true;
    const foreign = new Set((file.statement(FOREIGN_GRANTS).all(JSON.stringify(authorized), accountId) as Array<{ id: string }>).map((row) => row.id));
    const grantIds = JSON.stringify(authorized.filter((id) => !foreign.has(id)));
    file.statement(DELETE_GRANTS).run(grantIds);
    file.statement(DELETE_UNDER).run(grantIds);
    return true;
  });
}

const ACTIVE_SESSIONS = `SELECT count(*) AS count FROM oidc_payloads WHERE model = 'Session' AND account_id IS NOT NULL AND ${UNEXPIRED}`;

/** Signed-in sessions (with an account) not yet expired nor ended. */
export async function countActiveSessionsSqlite(file: ProviderStateFile): Promise<number> {
  return Number((file.statement(ACTIVE_SESSIONS).get(Date.now()) as { count: number }).count);
}

const GRANT_RECORDS = `
SELECT model, id FROM oidc_payloads
WHERE grant_id = :grant AND (expires_at IS NULL OR expires_at > :now)
  AND EXISTS (
    SELECT 1 FROM oidc_payloads
    WHERE model = 'Grant' AND id = :grant AND json_extract(payload, '$.accountId') = :account AND (expires_at IS NULL OR expires_at > :now)
  )`;

/**
 * The live rows issued under one live Grant of the account, as model and id, unordered; none
 * when the Grant is missing or names another account. One statement, through the grant_id index.
 */
export async function findAccountGrantRecordsSqlite(file: ProviderStateFile, accountId: string, grantId: string): Promise<Array<{ model: string; id: string }>> {
  requireAccountId(accountId);
  if (!grantId) return [];
  const rows = file.statement(GRANT_RECORDS).all({ grant: grantId, account: accountId, now: Date.now() }) as Array<{ model: string; id: string }>;
  return rows.map((row) => ({ model: row.model, id: row.id }));
}
