import type { Queryable } from '../db/database.ts';
import { AppError, isUniqueViolation, isCheckViolation } from '../errors.ts';

export interface Role {
  id: string;
  name: string;
  description: string | null;
  createdAt: Date;
}

interface RoleRow {
  id: string;
  name: string;
  description: string | null;
  created_at: Date;
}

const toRole = (row: RoleRow): Role => ({ id: row.id, name: row.name, description: row.description, createdAt: row.created_at });

export async function insertRole(db: Queryable, name: string, description: string | null): Promise<Role> {
  try {
    const { rows } = await db.query<RoleRow>('INSERT INTO roles (name, description) VALUES ($1, $2) RETURNING *', [name, description]);
    return toRole(rows[0]!);
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('role.exists', `role ${name} already exists`);
    if (isCheckViolation(error)) throw new AppError('role.invalid_name', 'role names are 1-64 letters, digits and _ . : -, starting with a letter or digit');
    throw error;
  }
}

/** Creates the role when missing; returns it either way (safe under concurrent calls). */
export async function upsertRoleByName(db: Queryable, name: string): Promise<Role> {
  try {
    const { rows } = await db.query<RoleRow>(
      `INSERT INTO roles (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING *`,
      [name],
    );
    return toRole(rows[0]!);
  } catch (error) {
    if (isCheckViolation(error)) throw new AppError('role.invalid_name', 'role names are 1-64 letters, digits and _ . : -, starting with a letter or digit');
    throw error;
  }
}

export async function findRoleByName(db: Queryable, name: string): Promise<Role | null> {
  const { rows } = await db.query<RoleRow>('SELECT * FROM roles WHERE name = $1', [name]);
  return rows[0] ? toRole(rows[0]) : null;
}

export async function insertAccountRole(db: Queryable, accountId: string, roleId: string): Promise<void> {
  await db.query('INSERT INTO account_roles (account_id, role_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [accountId, roleId]);
}

export async function findRoleNamesByAccountId(db: Queryable, accountId: string): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    'SELECT r.name FROM account_roles ar JOIN roles r ON r.id = ar.role_id WHERE ar.account_id = $1 ORDER BY r.name',
    [accountId],
  );
  return rows.map((row) => row.name);
}
