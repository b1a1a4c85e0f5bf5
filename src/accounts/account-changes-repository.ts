import type { Queryable } from '../db/database.ts';
import { AppError, isUniqueViolation } from '../errors.ts';

// Changes a person makes to their own account (src/accounts/settings.ts); the profile columns
// go through updateAccountProfile (repository.ts), shared with the admin API.

/**
 * Replaces the account's address with a confirmed one. A unique violation (the address was
 * taken since the link was mailed) is account.email_taken; false when the account is gone.
 */
export async function updateAccountEmail(db: Queryable, id: string, email: string): Promise<boolean> {
  try {
    const { rowCount } = await db.query('UPDATE accounts SET email = $2, email_verified = true, updated_at = now() WHERE id = $1', [id, email]);
    return rowCount > 0;
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('account.email_taken', 'another account has this email now');
    throw error;
  }
}

/**
 * Gives an account without a password its first one, only while it still has none: of two
 * concurrent "set a password" requests one wins and the other is told it now needs the current
 * password. False when the account has a password (or is gone).
 */
export async function setFirstPasswordHash(db: Queryable, id: string, passwordHash: string): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE accounts SET password_hash = $2, updated_at = now() WHERE id = $1 AND password_hash IS NULL', [id, passwordHash]);
  return rowCount > 0;
}

/** Sets a new password hash (the current password was checked by the caller); false when the account is gone. */
export async function replacePasswordHash(db: Queryable, id: string, passwordHash: string): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE accounts SET password_hash = $2, updated_at = now() WHERE id = $1 AND password_hash IS NOT NULL', [id, passwordHash]);
  return rowCount > 0;
}
