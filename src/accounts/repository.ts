import type { Queryable } from '../db/database.ts';
import { AppError, isUniqueViolation } from '../errors.ts';

export interface Account {
  id: string;
  email: string;
  emailVerified: boolean;
  passwordHash: string | null;
  name: string | null;
  givenName: string | null;
  familyName: string | null;
  picture: string | null;
  locale: string | null;
  disabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewAccount {
  email: string;
  emailVerified: boolean;
  passwordHash: string | null;
  name?: string | null | undefined;
  givenName?: string | null | undefined;
  familyName?: string | null | undefined;
  picture?: string | null | undefined;
  locale?: string | null | undefined;
}

interface AccountRow {
  id: string;
  email: string;
  email_verified: boolean;
  password_hash: string | null;
  name: string | null;
  given_name: string | null;
  family_name: string | null;
  picture: string | null;
  locale: string | null;
  disabled: boolean;
  created_at: Date;
  updated_at: Date;
}

const toAccount = (row: AccountRow): Account => ({
  id: row.id,
  email: row.email,
  emailVerified: row.email_verified,
  passwordHash: row.password_hash,
  name: row.name,
  givenName: row.given_name,
  familyName: row.family_name,
  picture: row.picture,
  locale: row.locale,
  disabled: row.disabled,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function findAccountById(db: Queryable, id: string): Promise<Account | null> {
  // A malformed id would make PostgreSQL raise on the uuid cast; it simply matches nothing.
  if (!UUID.test(id)) return null;
  const { rows } = await db.query<AccountRow>('SELECT * FROM accounts WHERE id = $1', [id]);
  return rows[0] ? toAccount(rows[0]) : null;
}

const ROLE_NAMES = `ARRAY(SELECT r.name FROM account_roles ar JOIN roles r ON r.id = ar.role_id
                           WHERE ar.account_id = a.id ORDER BY r.name) AS roles`;

// Roles held directly or through composite roles (see src/rbac/effective.ts).
const EFFECTIVE_ROLE_NAMES = `ARRAY(WITH RECURSIVE held(id) AS (
                                  SELECT ar.role_id FROM account_roles ar WHERE ar.account_id = a.id
                                  UNION
                                  SELECT rc.child_id FROM role_composites rc JOIN held ON rc.parent_id = held.id)
                                SELECT r.name FROM held JOIN roles r ON r.id = held.id ORDER BY r.name) AS roles`;

/**
 * The account with its effective role names, in one round trip (findAccount runs on every
 * userinfo call).
 */
export async function findAccountWithRolesById(db: Queryable, id: string): Promise<(Account & { roles: string[] }) | null> {
  if (!UUID.test(id)) return null;
  const { rows } = await db.query<AccountRow & { roles: string[] }>(`SELECT a.*, ${EFFECTIVE_ROLE_NAMES} FROM accounts a WHERE a.id = $1`, [id]);
  return rows[0] ? { ...toAccount(rows[0]), roles: rows[0].roles } : null;
}

export async function findAccountByEmail(db: Queryable, email: string): Promise<Account | null> {
  const { rows } = await db.query<AccountRow>('SELECT * FROM accounts WHERE lower(email) = lower($1)', [email]);
  return rows[0] ? toAccount(rows[0]) : null;
}

export async function insertAccount(db: Queryable, account: NewAccount): Promise<Account> {
  try {
    const { rows } = await db.query<AccountRow>(
      `INSERT INTO accounts (email, email_verified, password_hash, name, given_name, family_name, picture, locale)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
      [account.email, account.emailVerified, account.passwordHash, account.name ?? null, account.givenName ?? null, account.familyName ?? null, account.picture ?? null, account.locale ?? null],
    );
    return toAccount(rows[0]!);
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('account.email_taken', 'an account with this email already exists', 409);
    throw error;
  }
}

export async function updateAccountPasswordHash(db: Queryable, id: string, passwordHash: string): Promise<void> {
  await db.query('UPDATE accounts SET password_hash = $2, updated_at = now() WHERE id = $1', [id, passwordHash]);
}

export async function updateAccountDisabled(db: Queryable, id: string, disabled: boolean): Promise<void> {
  await db.query('UPDATE accounts SET disabled = $2, updated_at = now() WHERE id = $1', [id, disabled]);
}

export async function listAccountsWithRoles(db: Queryable): Promise<Array<Account & { roles: string[] }>> {
  const { rows } = await db.query<AccountRow & { roles: string[] }>(`SELECT a.*, ${ROLE_NAMES} FROM accounts a ORDER BY a.created_at, a.email`);
  return rows.map((row) => ({ ...toAccount(row), roles: row.roles }));
}

export async function markEmailVerified(db: Queryable, id: string): Promise<void> {
  await db.query('UPDATE accounts SET email_verified = true, updated_at = now() WHERE id = $1', [id]);
}
