import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../db/database.ts';

/** `change_email`: a new sign-in address, confirmed from the account console (migration 0018). */
export type TokenPurpose = 'verify_email' | 'reset_password' | 'change_email';

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

// Validity is decided against `now` (epoch ms) from the caller's clock (src/clock.ts), not the
// database's now(), so tests can let a link expire without waiting for it.

/** Creates a token that expires `ttlSeconds` after `now` and returns it; the caller puts it in a link and forgets it. */
export async function insertToken(db: Queryable, token: { accountId: string; purpose: TokenPurpose; email: string; ttlSeconds: number }, now: number): Promise<string> {
  const value = randomBytes(32).toString('base64url');
  await db.query(
    'INSERT INTO account_tokens (token_hash, account_id, purpose, email, expires_at) VALUES ($1, $2, $3, $4, $5)',
    [hashOf(value), token.accountId, token.purpose, token.email, new Date(now + token.ttlSeconds * 1000)],
  );
  return value;
}

/** The token's record when it is valid at `now` (unused, unexpired), without using it up. */
export async function findValidToken(db: Queryable, token: string, purpose: TokenPurpose, now: number): Promise<AccountToken | null> {
  if (!looksLikeToken(token)) return null;
  const { rows } = await db.query<TokenRow>(
    'SELECT * FROM account_tokens WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3',
    [hashOf(token), purpose, new Date(now)],
  );
  return rows[0] ? toToken(rows[0]) : null;
}

/** Uses the token up if it is valid at `now`, atomically: of two concurrent uses only one gets the record. */
export async function consumeToken(db: Queryable, token: string, purpose: TokenPurpose, now: number): Promise<AccountToken | null> {
  if (!looksLikeToken(token)) return null;
  const { rows } = await db.query<TokenRow>(
    `UPDATE account_tokens SET used_at = $3
     WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3
     RETURNING *`,
    [hashOf(token), purpose, new Date(now)],
  );
  return rows[0] ? toToken(rows[0]) : null;
}

/** Retires every open token of an account for a purpose (after a reset, older links die too). */
export async function retireTokens(db: Queryable, accountId: string, purpose: TokenPurpose, now: number): Promise<void> {
  await db.query('UPDATE account_tokens SET used_at = $3 WHERE account_id = $1 AND purpose = $2 AND used_at IS NULL', [accountId, purpose, new Date(now)]);
}

/** Garbage collection by the database's own time, a week after expiry: far past any decision. */
export async function deleteExpiredTokens(db: Queryable): Promise<number> {
  const { rowCount } = await db.query("DELETE FROM account_tokens WHERE expires_at < now() - interval '7 days'");
  return rowCount;
}
