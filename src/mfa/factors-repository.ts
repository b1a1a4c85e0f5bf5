import type { Queryable } from '../db/database.ts';

export interface StoredFactor {
  id: string;
  accountId: string;
  kind: 'totp' | 'webauthn';
  name: string;
  secretSealed: string | null;
  lastUsedStep: number | null;
  confirmedAt: Date | null;
  createdAt: Date;
  lastUsedAt: Date | null;
}

export interface FactorRow {
  id: string;
  account_id: string;
  kind: 'totp' | 'webauthn';
  name: string;
  secret_sealed: string | null;
  last_used_step: string | null;
  confirmed_at: Date | null;
  created_at: Date;
  last_used_at: Date | null;
}

export const toFactor = (row: FactorRow): StoredFactor => ({
  id: row.id,
  accountId: row.account_id,
  kind: row.kind,
  name: row.name,
  secretSealed: row.secret_sealed,
  lastUsedStep: row.last_used_step === null ? null : Number(row.last_used_step),
  confirmedAt: row.confirmed_at,
  createdAt: row.created_at,
  lastUsedAt: row.last_used_at,
});

export const FACTOR_COLUMNS = 'id, account_id, kind, name, secret_sealed, last_used_step, confirmed_at, created_at, last_used_at';

/** A new TOTP factor, unconfirmed; its id is chosen by the caller so the secret can be sealed to it. */
export async function insertTotpFactor(db: Queryable, factor: { id: string; accountId: string; name: string; secretSealed: string }): Promise<StoredFactor> {
  const { rows } = await db.query<FactorRow>(
    `INSERT INTO mfa_factors (id, account_id, kind, name, secret_sealed) VALUES ($1, $2, 'totp', $3, $4) RETURNING ${FACTOR_COLUMNS}`,
    [factor.id, factor.accountId, factor.name, factor.secretSealed],
  );
  return toFactor(rows[0]!);
}

export async function findFactorsByAccount(db: Queryable, accountId: string): Promise<StoredFactor[]> {
  const { rows } = await db.query<FactorRow>(`SELECT ${FACTOR_COLUMNS} FROM mfa_factors WHERE account_id = $1 ORDER BY created_at, id`, [accountId]);
  return rows.map(toFactor);
}

export async function findFactor(db: Queryable, accountId: string, id: string): Promise<StoredFactor | null> {
  const { rows } = await db.query<FactorRow>(`SELECT ${FACTOR_COLUMNS} FROM mfa_factors WHERE account_id = $1 AND id = $2`, [accountId, id]);
  return rows[0] ? toFactor(rows[0]) : null;
}

/**
 * Takes a TOTP time step for the factor, atomically: only a step later than the last one taken
 * succeeds, so of two instances checking the same code at once exactly one accepts it
 * (RFC 6238 §5.2: a verifier must not accept the same code twice). Confirms an enrolment on the way.
 */
export async function takeTotpStep(db: Queryable, id: string, step: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE mfa_factors SET last_used_step = $2, last_used_at = now(), confirmed_at = coalesce(confirmed_at, now())
     WHERE id = $1 AND kind = 'totp' AND (last_used_step IS NULL OR last_used_step < $2)`,
    [id, step],
  );
  return rowCount === 1;
}

/** Renames a factor of the account, of any kind; false when the account has no such factor. */
export async function renameFactor(db: Queryable, accountId: string, id: string, name: string): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE mfa_factors SET name = $3 WHERE account_id = $1 AND id = $2', [accountId, id, name]);
  return rowCount === 1;
}

export async function deleteFactor(db: Queryable, accountId: string, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM mfa_factors WHERE account_id = $1 AND id = $2', [accountId, id]);
  return rowCount === 1;
}

/**
 * Deletes the factor unless it is the account's last confirmed one, atomically: the account's
 * confirmed factors are locked first (call inside a transaction), so two removals racing for
 * an account's last two factors cannot both succeed. `'last'` when it was refused.
 */
export async function deleteFactorKeepingOne(tx: Queryable, accountId: string, id: string): Promise<'deleted' | 'last' | 'missing'> {
  const { rows } = await tx.query<{ id: string }>('SELECT id FROM mfa_factors WHERE account_id = $1 AND confirmed_at IS NOT NULL ORDER BY id FOR UPDATE', [accountId]);
  const confirmed = rows.some((row) => row.id === id);
  if (confirmed && rows.length <= 1) return 'last';
  return (await deleteFactor(tx, accountId, id)) ? 'deleted' : 'missing';
}

export async function deleteAllFactors(db: Queryable, accountId: string): Promise<number> {
  const { rowCount } = await db.query('DELETE FROM mfa_factors WHERE account_id = $1', [accountId]);
  return rowCount ?? 0;
}

/** Replaces every recovery code of the account (old ones, used or not, stop working). */
export async function replaceRecoveryCodes(db: Queryable, accountId: string, hashes: string[]): Promise<void> {
  await db.query('DELETE FROM mfa_recovery_codes WHERE account_id = $1', [accountId]);
  await db.query('INSERT INTO mfa_recovery_codes (account_id, code_hash) SELECT $1, unnest($2::text[])', [accountId, hashes]);
}

/** Uses one recovery code, once: of two requests racing with it, one gets it. */
export async function useRecoveryCode(db: Queryable, accountId: string, hashes: string[]): Promise<boolean> {
  const { rowCount } = await db.query(
    'UPDATE mfa_recovery_codes SET used_at = now() WHERE account_id = $1 AND code_hash = ANY($2::text[]) AND used_at IS NULL',
    [accountId, hashes],
  );
  return (rowCount ?? 0) > 0;
}

export async function countUnusedRecoveryCodes(db: Queryable, accountId: string): Promise<number> {
  const { rows } = await db.query<{ count: string }>('SELECT count(*) AS count FROM mfa_recovery_codes WHERE account_id = $1 AND used_at IS NULL', [accountId]);
  return Number(rows[0]!.count);
}
