import type { JWK } from 'jose';
import type { Queryable } from '../../db/database.ts';
import type { KeyRecord, KeyState, SigningAlg } from './lifecycle.ts';

interface KeyRow {
  kid: string;
  alg: SigningAlg;
  state: KeyState;
  created_at: Date;
  activate_after: Date | null;
  activated_at: Date | null;
  retired_at: Date | null;
  unpublish_after: Date | null;
  removed_at: Date | null;
}

const COLUMNS = 'kid, alg, state, created_at, activate_after, activated_at, retired_at, unpublish_after, removed_at';

const toRecord = (row: KeyRow): KeyRecord => ({
  kid: row.kid,
  alg: row.alg,
  state: row.state,
  createdAt: row.created_at,
  activateAfter: row.activate_after,
  activatedAt: row.activated_at,
  retiredAt: row.retired_at,
  unpublishAfter: row.unpublish_after,
  removedAt: row.removed_at,
});

// Lifecycle order, then newest first.
const ORDER = `ORDER BY array_position(ARRAY['active', 'next', 'retired', 'removed'], state), alg DESC, created_at DESC`;

/** Every key (removed ones only with `all`), without key material. */
export async function listKeys(q: Queryable, options: { all?: boolean; forUpdate?: boolean } = {}): Promise<KeyRecord[]> {
  const { rows } = await q.query<KeyRow>(
    `SELECT ${COLUMNS} FROM signing_keys ${options.all ? '' : `WHERE state <> 'removed'`} ${ORDER}${options.forUpdate ? ' FOR UPDATE' : ''}`,
  );
  return rows.map(toRecord);
}

/** The published keys with their sealed private halves. */
export async function listSealedKeys(q: Queryable): Promise<Array<KeyRecord & { sealed: string }>> {
  const { rows } = await q.query<KeyRow & { private_jwk_sealed: string }>(
    `SELECT ${COLUMNS}, private_jwk_sealed FROM signing_keys WHERE state IN ('next', 'active', 'retired') AND private_jwk_sealed IS NOT NULL ${ORDER}`,
  );
  return rows.map((row) => ({ ...toRecord(row), sealed: row.private_jwk_sealed }));
}

/** Keys written by versions before 0019, private JWK in clear. */
export async function listClearKeys(q: Queryable): Promise<Array<{ kid: string; jwk: JWK }>> {
  const { rows } = await q.query<{ kid: string; jwk: JWK }>('SELECT kid, jwk FROM signing_keys WHERE jwk IS NOT NULL FOR UPDATE');
  return rows;
}

export async function sealClearKey(q: Queryable, kid: string, publicJwk: JWK, sealed: string): Promise<void> {
  await q.query('UPDATE signing_keys SET public_jwk = $2, private_jwk_sealed = $3, jwk = NULL WHERE kid = $1', [kid, publicJwk, sealed]);
}

export async function insertKey(q: Queryable, key: { kid: string; alg: SigningAlg; state: 'next' | 'active'; publicJwk: JWK; sealed: string; at: Date; activateAfter: Date | null }): Promise<void> {
  await q.query(
    `INSERT INTO signing_keys (kid, alg, state, public_jwk, private_jwk_sealed, created_at, activate_after, activated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [key.kid, key.alg, key.state, key.publicJwk, key.sealed, key.at, key.activateAfter, key.state === 'active' ? key.at : null],
  );
}

export async function markActive(q: Queryable, kid: string, at: Date): Promise<void> {
  await q.query(`UPDATE signing_keys SET state = 'active', activated_at = $2, activate_after = NULL WHERE kid = $1`, [kid, at]);
}

export async function markRetired(q: Queryable, kid: string, at: Date, unpublishAfter: Date): Promise<void> {
  await q.query(`UPDATE signing_keys SET state = 'retired', retired_at = $2, unpublish_after = $3 WHERE kid = $1`, [kid, at, unpublishAfter]);
}

/** Unpublished for good: the private half is erased, the row stays as history. */
export async function markRemoved(q: Queryable, kid: string, at: Date): Promise<void> {
  await q.query(`UPDATE signing_keys SET state = 'removed', removed_at = $2, private_jwk_sealed = NULL, jwk = NULL WHERE kid = $1`, [kid, at]);
}

/** The longest access token lifetime of any registered API resource (0 when there is none). */
export async function longestResourceTokenTtl(q: Queryable): Promise<number> {
  const { rows } = await q.query<{ ttl: number | null }>('SELECT max(access_token_ttl) AS ttl FROM api_resources');
  return rows[0]?.ttl ?? 0;
}

/** Serialises key changes between instances, the CLI and the admin API; any constant works. */
const KEY_LOCK_ID = 7_240_115_932;

/** Waits for the key lock, held until the transaction ends. */
export async function lockKeys(q: Queryable): Promise<void> {
  await q.query('SELECT pg_advisory_xact_lock($1)', [KEY_LOCK_ID]);
}

/** Takes the key lock if nobody holds it: a scheduled step is done by whichever instance gets there first. */
export async function tryLockKeys(q: Queryable): Promise<boolean> {
  const { rows } = await q.query<{ locked: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS locked', [KEY_LOCK_ID]);
  return rows[0]?.locked === true;
}
