import type { Queryable } from '../db/database.ts';
import { isUniqueViolation } from '../errors.ts';
import { FACTOR_COLUMNS, toFactor, type FactorRow, type StoredFactor } from './factors-repository.ts';

export type DeviceType = 'singleDevice' | 'multiDevice';

/** A passkey or security key: a confirmed `webauthn` row of mfa_factors. */
export interface StoredCredential {
  factorId: string;
  accountId: string;
  name: string;
  /** base64url, as the browser reports it and as it goes into allow and exclude lists. */
  credentialId: string;
  /** COSE_Key, as the authenticator sent it. */
  publicKey: Uint8Array<ArrayBuffer>;
  signCount: number;
  transports: string[];
  /** Null only for rows written before migration 0017. */
  backupEligible: boolean | null;
  backedUp: boolean | null;
  deviceType: DeviceType | null;
  aaguid: string | null;
}

interface CredentialRow {
  id: string;
  account_id: string;
  name: string;
  credential_id: string;
  public_key: Buffer;
  sign_count: string | null;
  transports: string[] | null;
  backup_eligible: boolean | null;
  backed_up: boolean | null;
  device_type: DeviceType | null;
  aaguid: string | null;
}

const toCredential = (row: CredentialRow): StoredCredential => ({
  factorId: row.id,
  accountId: row.account_id,
  name: row.name,
  credentialId: row.credential_id,
  publicKey: new Uint8Array(row.public_key),
  signCount: row.sign_count === null ? 0 : Number(row.sign_count),
  transports: row.transports ?? [],
  backupEligible: row.backup_eligible,
  backedUp: row.backed_up,
  deviceType: row.device_type,
  aaguid: row.aaguid,
});

const COLUMNS = 'id, account_id, name, credential_id, public_key, sign_count, transports, backup_eligible, backed_up, device_type, aaguid';
const CONFIRMED_WEBAUTHN = "kind = 'webauthn' AND confirmed_at IS NOT NULL";

export async function findCredentialById(db: Queryable, credentialId: string): Promise<StoredCredential | null> {
  const { rows } = await db.query<CredentialRow>(`SELECT ${COLUMNS} FROM mfa_factors WHERE credential_id = $1 AND ${CONFIRMED_WEBAUTHN}`, [credentialId]);
  return rows[0] ? toCredential(rows[0]) : null;
}

/**
 * Every factor of the account and, for its confirmed passkeys, their credentials: one query for
 * what findFactorsByAccount and findCredentialsByAccount would read in two (both are rows of
 * mfa_factors). A sign-in lists the factors on every password step.
 */
export async function findFactorsWithCredentials(db: Queryable, accountId: string): Promise<{ factors: StoredFactor[]; credentials: StoredCredential[] }> {
  const { rows } = await db.query<FactorRow & CredentialRow>(
    `SELECT ${FACTOR_COLUMNS}, credential_id, public_key, sign_count, transports, backup_eligible, backed_up, device_type, aaguid
     FROM mfa_factors WHERE account_id = $1 ORDER BY created_at, id`,
    [accountId],
  );
  return {
    factors: rows.map(toFactor),
    credentials: rows.filter((row) => row.kind === 'webauthn' && row.confirmed_at !== null).map(toCredential),
  };
}

export async function findCredentialsByAccount(db: Queryable, accountId: string): Promise<StoredCredential[]> {
  const { rows } = await db.query<CredentialRow>(
    `SELECT ${COLUMNS} FROM mfa_factors WHERE account_id = $1 AND ${CONFIRMED_WEBAUTHN} ORDER BY created_at, id`,
    [accountId],
  );
  return rows.map(toCredential);
}

/** Whether a credential id is stored at all, for anyone (credential ids are unique across accounts). */
export async function credentialIdTaken(db: Queryable, credentialId: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM mfa_factors WHERE credential_id = $1', [credentialId]);
  return rows.length > 0;
}

/**
 * A new passkey, confirmed at once: the registration ceremony itself proved possession. Null
 * when the credential id is already stored (unique violation: a second registration racing).
 */
export async function insertCredential(db: Queryable, credential: Omit<StoredCredential, 'factorId'>): Promise<string | null> {
  try {
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO mfa_factors (account_id, kind, name, credential_id, public_key, sign_count, transports, backup_eligible, backed_up, device_type, aaguid, confirmed_at)
       VALUES ($1, 'webauthn', $2, $3, $4, $5, $6::text[], $7, $8, $9, $10, now()) RETURNING id`,
      [
        credential.accountId, credential.name, credential.credentialId, Buffer.from(credential.publicKey), credential.signCount,
        credential.transports, credential.backupEligible, credential.backedUp, credential.deviceType, credential.aaguid,
      ],
    );
    return rows[0]!.id;
  } catch (error) {
    if (isUniqueViolation(error)) return null;
    throw error;
  }
}

/**
 * Records a use: the new signature counter and backup state. Atomic on the counter (WebAuthn L3
 * §6.1.1): only a counter above the stored one, or a stored 0 (an authenticator without a
 * counter), is taken, so of two assertions racing with the same counter one is refused.
 */
export async function recordCredentialUse(db: Queryable, factorId: string, use: { signCount: number; backedUp: boolean }): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE mfa_factors SET sign_count = $2, backed_up = $3, last_used_at = now()
     WHERE id = $1 AND kind = 'webauthn' AND (coalesce(sign_count, 0) = 0 OR sign_count < $2)`,
    [factorId, use.signCount, use.backedUp],
  );
  return rowCount === 1;
}

export async function renameCredential(db: Queryable, accountId: string, factorId: string, name: string): Promise<boolean> {
  const { rowCount } = await db.query("UPDATE mfa_factors SET name = $3 WHERE account_id = $1 AND id = $2 AND kind = 'webauthn'", [accountId, factorId, name]);
  return rowCount === 1;
}
