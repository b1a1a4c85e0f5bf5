import { errors, type Adapter, type AdapterFactory, type AdapterPayload } from 'oidc-provider';
import type { Database } from '../../db/database.ts';
import type { AccountGrantRecord, AccountRecord } from './account-state.ts';

/*
 * One table, oidc_payloads (migrations/0006_provider_state.sql, account_id from
 * 0009_provider_state_accounts.sql), for every model. The indexed fields (grant_id, account_id,
 * user_code, uid) are copied out of the payload into columns; expiry is checked on every read, so
 * rows past expires_at are invisible until deleteExpiredPayloads removes them.
 */

const UNEXPIRED = '(expires_at IS NULL OR expires_at > now())';

interface PayloadRow {
  payload: AdapterPayload;
}

class SqlAdapter implements Adapter {
  readonly #db: Database;
  readonly #model: string;

  constructor(db: Database, model: string) {
    this.#db = db;
    this.#model = model;
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    // An upsert replaces the whole record, as in the Redis adapter: consumed only if the payload says so.
    await this.#db.query(
      `INSERT INTO oidc_payloads (model, id, payload, grant_id, user_code, uid, expires_at, consumed_at, account_id)
       VALUES ($1, $2, $3::jsonb, $4, $5, $6,
               now() + make_interval(secs => $7::double precision),
               CASE WHEN $8::boolean THEN now() END, $9)
       ON CONFLICT (model, id) DO UPDATE SET
         payload = excluded.payload, grant_id = excluded.grant_id, user_code = excluded.user_code,
         uid = excluded.uid, expires_at = excluded.expires_at, consumed_at = excluded.consumed_at,
         account_id = excluded.account_id`,
      [
        this.#model,
        id,
        // Stringified by hand: pg would send a JS array as a Postgres array, not as JSON.
        JSON.stringify(payload),
        payload.grantId ?? null,
        payload.userCode ?? null,
        payload.uid ?? null,
        // now() + NULL is NULL: no expiry.
        expiresIn ?? null,
        Boolean(payload.consumed),
        // || rather than ??: an empty accountId is no account, as in the Redis adapter.
        payload.accountId || null,
      ],
    );
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    return this.#findOne('id = $2', id);
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.#findOne('user_code = $2', userCode);
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.#findOne('uid = $2', uid);
  }

  async #findOne(condition: string, value: string): Promise<AdapterPayload | undefined> {
    const { rows } = await this.#db.query<PayloadRow>(
      `SELECT payload FROM oidc_payloads WHERE model = $1 AND ${condition} AND ${UNEXPIRED} LIMIT 1`,
      [this.#model, value],
    );
    return rows[0]?.payload;
  }

  /**
   * The `consumed_at IS NULL` condition makes this a compare-and-set: under READ COMMITTED a
   * concurrent UPDATE of the same row waits for the first to commit, re-checks the condition and
   * matches nothing, so exactly one consume succeeds.
   */
  async consume(id: string): Promise<void> {
    const { rowCount } = await this.#db.query(
      `UPDATE oidc_payloads
       SET consumed_at = now(),
           payload = payload || jsonb_build_object('consumed', floor(extract(epoch FROM now()))::bigint)
       WHERE model = $1 AND id = $2 AND consumed_at IS NULL AND ${UNEXPIRED}
       RETURNING id`,
      [this.#model, id],
    );
    if (rowCount === 1) return;
    const exists = (await this.find(id)) !== undefined;
    throw new errors.InvalidGrant(`${this.#model} ${exists ? 'already consumed' : 'not found or expired'}`);
  }

  async destroy(id: string): Promise<void> {
    await this.#db.query('DELETE FROM oidc_payloads WHERE model = $1 AND id = $2', [this.#model, id]);
  }

  /** oidc-provider calls this on one model's adapter yet expects every token of the grant gone. */
  async revokeByGrantId(grantId: string): Promise<void> {
    await this.#db.query('DELETE FROM oidc_payloads WHERE grant_id = $1', [grantId]);
  }
}

export function createSqlAdapterFactory(db: Database): AdapterFactory {
  return (model: string) => new SqlAdapter(db, model);
}

/** Deletes expired rows; returns how many. Called periodically by the app. */
export async function deleteExpiredPayloads(db: Database): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM oidc_payloads WHERE expires_at <= now()');
  return rowCount;
}

/**
 * Ends everything one account holds in one statement: its own rows (sessions, grants, codes,
 * tokens) and every row issued under one of its Grant rows, even one without account_id (a
 * Grant row past its expiry still counts until deleteExpiredPayloads removes it). Expired rows
 * go too but are not counted, as in the Redis adapter where they are already gone: returns how
 * many live records it deleted.
 * A row written after the statement survives it: a request of the account already in flight can
 * still save the Session or Grant it loaded before, so a caller that must be airtight also has to
 * refuse the account's older logins elsewhere (e.g. in findAccount).
 * The ARRAY(...) subquery runs once, before the scan, so both conditions can use their index.
 */
export async function revokeAccountStateSql(db: Database, accountId: string): Promise<number> {
  if (!accountId) throw new TypeError('accountId must be a non-empty string');
  const { rows } = await db.query<{ removed: number }>(
    `WITH removed AS (
       DELETE FROM oidc_payloads
       WHERE account_id = $1
          OR grant_id = ANY (ARRAY(SELECT id FROM oidc_payloads WHERE model = 'Grant' AND account_id = $1))
       RETURNING ${UNEXPIRED} AS live
     )
     SELECT (count(*) FILTER (WHERE live))::int AS removed FROM removed`,
    [accountId],
  );
  return rows[0]?.removed ?? 0;
}

function requireAccountId(accountId: string): void {
  if (!accountId) throw new TypeError('accountId must be a non-empty string');
}

/** The account's live Session rows (unordered), found through the account_id index. */
export async function findAccountSessionsSql(db: Database, accountId: string): Promise<AccountRecord[]> {
  requireAccountId(accountId);
  const { rows } = await db.query<AccountRecord>(
    `SELECT id, payload FROM oidc_payloads WHERE account_id = $1 AND model = 'Session' AND ${UNEXPIRED}`,
    [accountId],
  );
  return rows;
}

/**
 * The account's live Grant rows (unordered), each with the newest numeric `iat` of the live
 * access and refresh tokens under it (null: none), in one statement. The ARRAY(...) subquery runs
 * once, so the aggregate reads only those grants' tokens through the grant_id index.
 */
export async function findAccountGrantsSql(db: Database, accountId: string): Promise<AccountGrantRecord[]> {
  requireAccountId(accountId);
  const { rows } = await db.query<{ id: string; payload: AdapterPayload; last_used_iat: number | null }>(
    `WITH grants AS (
       SELECT id, payload FROM oidc_payloads WHERE account_id = $1 AND model = 'Grant' AND ${UNEXPIRED}
     ),
     usage AS (
       SELECT grant_id, max((payload->>'iat')::double precision) AS last_used_iat
       FROM oidc_payloads
       WHERE grant_id = ANY (ARRAY(SELECT id FROM grants))
         AND model IN ('AccessToken', 'RefreshToken')
         AND jsonb_typeof(payload->'iat') = 'number'
         AND ${UNEXPIRED}
       GROUP BY grant_id
     )
     SELECT grants.id, grants.payload, usage.last_used_iat
     FROM grants LEFT JOIN usage ON usage.grant_id = grants.id`,
    [accountId],
  );
  return rows.map((row) => ({ id: row.id, payload: row.payload, lastUsedIat: row.last_used_iat }));
}

/**
 * Revokes one live Grant of the account (its payload names the account) and every row under it,
 * in one statement. False when there is no such Grant; nothing changes then.
 * The two DELETEs of one statement share its snapshot, so the second cannot see the first's work
 * but can key off its RETURNING rows: the tokens go only when the Grant did.
 */
export async function revokeAccountGrantSql(db: Database, accountId: string, grantId: string): Promise<boolean> {
  requireAccountId(accountId);
  if (!grantId) return false;
  const { rows } = await db.query<{ found: boolean }>(
    `WITH revoked AS (
       DELETE FROM oidc_payloads
       WHERE model = 'Grant' AND id = $2 AND payload->>'accountId' = $1::text AND ${UNEXPIRED}
       RETURNING id
     ),
     under AS (
       DELETE FROM oidc_payloads WHERE grant_id = $2 AND EXISTS (SELECT 1 FROM revoked)
     )
     SELECT EXISTS (SELECT 1 FROM revoked) AS found`,
    [accountId, grantId],
  );
  return rows[0]?.found === true;
}

/**
 * Ends one live Session of the account and revokes every Grant its authorizations name, with
 * every row under them, in one statement. False when there is no such Session; nothing changes
 * then. An authorized Grant whose row names another account is left alone; one whose row is gone
 * (or expired) still has the rows under it removed, as in revokeAccountStateSql.
 * The ownership checks read payload->>'accountId' rather than the account_id column: these are
 * primary-key lookups, and rows written before migration 0009 have no account_id.
 */
export async function revokeAccountSessionSql(db: Database, accountId: string, sessionId: string): Promise<boolean> {
  requireAccountId(accountId);
  if (!sessionId) return false;
  const { rows } = await db.query<{ found: boolean }>(
    `WITH session AS (
       DELETE FROM oidc_payloads
       WHERE model = 'Session' AND id = $2 AND payload->>'accountId' = $1::text AND ${UNEXPIRED}
       RETURNING payload
     ),
     authorized AS (
       SELECT DISTINCT authorization_.value->>'grantId' AS id
       FROM session, jsonb_each(
         CASE WHEN jsonb_typeof(session.payload->'authorizations') = 'object' THEN session.payload->'authorizations' ELSE '{}'::jsonb END
       ) AS authorization_
       WHERE jsonb_typeof(authorization_.value->'grantId') = 'string' AND authorization_.value->>'grantId' <> ''
     ),
     grant_ids AS (
       SELECT id FROM authorized
       EXCEPT
       SELECT id FROM oidc_payloads
       WHERE model = 'Grant' AND id IN (SELECT id FROM authorized) AND payload->>'accountId' IS DISTINCT FROM $1::text
     ),
     revoked AS (
       DELETE FROM oidc_payloads
       WHERE (model = 'Grant' AND id = ANY (ARRAY(SELECT id FROM grant_ids)))
          OR grant_id = ANY (ARRAY(SELECT id FROM grant_ids))
     )
     SELECT EXISTS (SELECT 1 FROM session) AS found`,
    [accountId, sessionId],
  );
  return rows[0]?.found === true;
}

/** Signed-in sessions (with an account) not yet expired nor ended. */
export async function countActiveSessionsSql(db: Database): Promise<number> {
  const { rows } = await db.query<{ count: string }>("SELECT count(*) AS count FROM oidc_payloads WHERE model = 'Session' AND account_id IS NOT NULL AND (expires_at IS NULL OR expires_at > now())");
  return Number(rows[0]!.count);
}

/**
 * The live rows issued under one live Grant of the account, as model and id, unordered; none
 * when the Grant is missing or names another account. One statement, through the grant_id index.
 */
export async function findAccountGrantRecordsSql(db: Database, accountId: string, grantId: string): Promise<Array<{ model: string; id: string }>> {
  requireAccountId(accountId);
  if (!grantId) return [];
  const { rows } = await db.query<{ model: string; id: string }>(
    `SELECT model, id FROM oidc_payloads
     WHERE grant_id = $2 AND ${UNEXPIRED}
       AND EXISTS (SELECT 1 FROM oidc_payloads WHERE model = 'Grant' AND id = $2 AND payload->>'accountId' = $1::text AND ${UNEXPIRED})`,
    [accountId, grantId],
  );
  return rows;
}
