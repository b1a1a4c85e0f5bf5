import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../db/database.ts';

export type TokenPurpose = 'verify_email' | 'reset_password';

export interface AccountToken {
  accountId: string;
  purpose: TokenPurpose;
  email: string;
  expiresAt: Date;
}

interface TokenRow {
  account_id: string;
  purpose: TokenPurpose;
  email: string;
  expires_at: Date;
}

const toToken = (row: TokenRow): AccountToken => ({ accountId: row.account_id, purpose: row.purpose, email: row.email, expiresAt: row.expires_at });

// 256 random bits: the link is the credential. Only its SHA-256 is stored; a slow hash adds
// nothing for a secret this long.
const hashOf = (token: string): Buffer => createHash('sha256').update(token).digest();
const looksLikeToken = (token: string): boolean => /^[A-Za-z0-9_-]{43}$/.test(token);

/** Creates a token and returns it; the caller puts it in a link and forgets it. */
export async function insertToken(db: Queryable, token: { accountId: string; purpose: TokenPurpose; email: string; ttlSeconds: number }): Promise<string> {
  const value = randomBytes(32).toString('base64url');
  await db.query(
    `INSERT INTO account_tokens (token_hash, account_id, purpose, email, expires_at)
     VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5::double precision))`,
    [hashOf(value), token.accountId, token.purpose, token.email, token.ttlSeconds],
  );
  return value;
}

/** The token's record when it is valid (unused, unexpired), without using it up. */
export async function findValidToken(db: Queryable, token: string, purpose: TokenPurpose): Promise<AccountToken | null> {
  if (!looksLikeToken(token)) return null;
  const { rows } = await db.query<TokenRow>(
    'SELECT * FROM account_tokens WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()',
    [hashOf(token), purpose],
  );
  return rows[0] ? toToken(rows[0]) : null;
}

/** Uses the token up, atomically: of two concurrent uses only one gets the record. */
export async function consumeToken(db: Queryable, token: string, purpose: TokenPurpose): Promise<AccountToken | null> {
  if (!looksLikeToken(token)) return null;
  const { rows } = await db.query<TokenRow>(
    `UPDATE account_tokens SET used_at = now()
     WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
     RETURNING *`,
    [hashOf(token), purpose],
  );
  return rows[0] ? toToken(rows[0]) : null;
}

/** Retires every open token of an account for a purpose (after a reset, older links die too). */
export async function retireTokens(db: Queryable, accountId: string, purpose: TokenPurpose): Promise<void> {
  await db.query('UPDATE account_tokens SET used_at = now() WHERE account_id = $1 AND purpose = $2 AND used_at IS NULL', [accountId, purpose]);
}

export async function deleteExpiredTokens(db: Queryable): Promise<number> {
  const { rowCount } = await db.query("DELETE FROM account_tokens WHERE expires_at < now() - interval '7 days'");
  return rowCount;
}
