import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import type { Database } from '../db/database.ts';
import { parseSecretKey } from './secret-box.ts';

/** The keys that seal factor secrets (newest first), and the peppers of recovery codes derived from them. */
export interface MfaKeys {
  /** base64url, 32 bytes each, as src/mfa/secret-box.ts takes them. */
  sealing: string[];
  /** One HMAC key per sealing key, labelled with its id, so a rotated key keeps old codes working. */
  peppers: Array<{ id: string; key: Buffer }>;
  /** Whether the keys came from the configuration (production needs that once a secret exists). */
  configured: boolean;
}

const keyId = (key: Buffer): string => createHash('sha256').update(key).digest('hex').slice(0, 8);

function derive(sealing: string[], configured: boolean): MfaKeys {
  const buffers = sealing.map(parseSecretKey);
  return {
    sealing: buffers.map((key) => key.toString('base64url')),
    // HKDF (RFC 5869) separates the recovery-code pepper from the sealing key it comes from.
    peppers: buffers.map((key) => ({ id: keyId(key), key: Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'idp recovery codes', 32)) })),
    configured,
  };
}

/**
 * `MFA_ENCRYPTION_KEYS` when set. Otherwise, for development, one key generated once and kept in
 * the database, beside the data it protects: production refuses that once any secret exists
 * (src/mfa/startup-check.ts).
 */
export async function loadMfaKeys(db: Database, configured: string[] | undefined): Promise<MfaKeys> {
  if (configured?.length) return derive(configured, true);
  await db.query('INSERT INTO instance_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING', ['mfa_keys', JSON.stringify([randomBytes(32).toString('base64url')])]);
  const { rows } = await db.query<{ value: string[] }>('SELECT value FROM instance_secrets WHERE name = $1', ['mfa_keys']);
  return derive(rows[0]!.value, false);
}

/** Whether any factor secret is stored (production then needs configured keys). */
export async function hasSealedSecrets(db: Database): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM mfa_factors WHERE secret_sealed IS NOT NULL LIMIT 1');
  return rows.length > 0;
}
