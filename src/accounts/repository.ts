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
  /** Epoch ms: sessions and tokens established before it are refused (see migration 0015). */
  sessionsValidAfter: number | null;
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
  sessions_valid_after: string | null;
  created_at: Date;
  updated_at: Date;
}

const ACCOUNT_COLUMNS = ['id', 'email', 'email_verified', 'password_hash', 'name', 'given_name', 'family_name', 'picture', 'locale', 'disabled', 'sessions_valid_after', 'created_at', 'updated_at'] as const;

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
  // bigint arrives as a string from pg.
  sessionsValidAfter: row.sessions_valid_after === null ? null : Number(row.sessions_valid_after),
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
/** Refuses, from now on, every session and token of the account established before `at` (epoch ms). */
export async function updateSessionsValidAfter(db: Queryable, id: string, at: number): Promise<void> {
  if (!UUID.test(id)) return;
  await db.query('UPDATE accounts SET sessions_valid_after = GREATEST(coalesce(sessions_valid_after, 0), $2) WHERE id = $1', [id, at]);
}

export async function findAccountWithRolesById(db: Queryable, id: string): Promise<(Account & { roles: string[] }) | null> {
  if (!UUID.test(id)) return null;
  // Columns named, not a.*: a prepared statement must keep its result shape when a migration
  // run by another instance adds a column.
  const { rows } = await db.query<AccountRow & { roles: string[] }>(
    `SELECT ${ACCOUNT_COLUMNS.map((column) => `a.${column}`).join(', ')}, ${EFFECTIVE_ROLE_NAMES} FROM accounts a WHERE a.id = $1`,
    [id],
    { name: 'account-with-roles' },
  );
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
    if (isUniqueViolation(error)) throw new AppError('account.email_taken', 'an account with this email already exists');
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

/**
 * One page of accounts in a stable order (created_at, id), after the cursor position, optionally
 * matching `search` in email or name. Rows inserted while someone pages never shift a page.
 */
export async function listAccountsPage(db: Queryable, options: { search?: string | undefined; after?: { createdAt: Date; id: string } | undefined; limit: number }): Promise<Array<Account & { roles: string[] }>> {
  const conditions: string[] = [];
  const values: unknown[] = [];
  if (options.search) {
    values.push(`%${options.search.replace(/[\\%_]/g, (char) => `\\${char}`)}%`);
    conditions.push(`(a.email ILIKE $${values.length} OR a.name ILIKE $${values.length})`);
  }
  if (options.after) {
    values.push(options.after.createdAt, options.after.id);
    // Compared at millisecond precision, the precision the cursor carries (a JS Date).
    conditions.push(`(date_trunc('milliseconds', a.created_at), a.id) > ($${values.length - 1}, $${values.length}::uuid)`);
  }
  values.push(options.limit);
  const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
  const { rows } = await db.query<AccountRow & { roles: string[] }>(
    `SELECT a.*, ${ROLE_NAMES} FROM accounts a ${where} ORDER BY date_trunc('milliseconds', a.created_at), a.id LIMIT $${values.length}`,
    values,
  );
  return rows.map((row) => ({ ...toAccount(row), roles: row.roles }));
}

export async function deleteAccount(db: Queryable, id: string): Promise<boolean> {
  if (!UUID.test(id)) return false;
  const { rowCount } = await db.query('DELETE FROM accounts WHERE id = $1', [id]);
  return rowCount > 0;
}

export async function updateAccountProfile(db: Queryable, id: string, profile: Partial<Pick<Account, 'name' | 'givenName' | 'familyName' | 'picture' | 'locale' | 'emailVerified'>>): Promise<Account | null> {
  if (!UUID.test(id)) return null;
  const columns: Record<string, string> = { name: 'name', givenName: 'given_name', familyName: 'family_name', picture: 'picture', locale: 'locale', emailVerified: 'email_verified' };
  const sets: string[] = [];
  const values: unknown[] = [id];
  for (const [key, column] of Object.entries(columns)) {
    const value = profile[key as keyof typeof profile];
    if (value === undefined) continue;
    values.push(value);
    sets.push(`${column} = $${values.length}`);
  }
  const { rows } = await db.query<AccountRow>(`UPDATE accounts SET ${[...sets, 'updated_at = now()'].join(', ')} WHERE id = $1 RETURNING *`, values);
  return rows[0] ? toAccount(rows[0]) : null;
}
