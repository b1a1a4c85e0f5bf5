import type { Queryable } from '../db/database.ts';
import { AppError, isForeignKeyViolation, isUniqueViolation, isCheckViolation } from '../errors.ts';

export interface RoleDetails {
  id: string;
  name: string;
  description: string | null;
  createdAt: Date;
  /** Roles this role includes directly. */
  composites: string[];
  /** Permissions granted directly, as { id, indicator, name }. */
  permissions: Array<{ id: string; indicator: string; name: string }>;
}

export interface Permission {
  id: string;
  indicator: string;
  name: string;
  description: string | null;
  createdAt: Date;
}

interface RoleRow {
  id: string;
  name: string;
  description: string | null;
  created_at: Date;
  composites: string[];
  permissions: Array<{ id: string; indicator: string; name: string }>;
}

const ROLE_SELECT = `
  SELECT r.id, r.name, r.description, r.created_at,
         ARRAY(SELECT c.name FROM role_composites rc JOIN roles c ON c.id = rc.child_id WHERE rc.parent_id = r.id ORDER BY c.name) AS composites,
         COALESCE((SELECT json_agg(json_build_object('id', p.id, 'indicator', p.indicator, 'name', p.name) ORDER BY p.indicator, p.name)
                     FROM role_permissions rp JOIN permissions p ON p.id = rp.permission_id WHERE rp.role_id = r.id), '[]'::json) AS permissions
  FROM roles r`;

const toRole = (row: RoleRow): RoleDetails => ({
  id: row.id, name: row.name, description: row.description, createdAt: row.created_at, composites: row.composites, permissions: row.permissions,
});

export async function listRoleDetails(db: Queryable): Promise<RoleDetails[]> {
  const { rows } = await db.query<RoleRow>(`${ROLE_SELECT} ORDER BY r.name`);
  return rows.map(toRole);
}

export async function findRoleDetails(db: Queryable, name: string): Promise<RoleDetails | null> {
  const { rows } = await db.query<RoleRow>(`${ROLE_SELECT} WHERE r.name = $1`, [name]);
  return rows[0] ? toRole(rows[0]) : null;
}

export async function updateRoleDescription(db: Queryable, name: string, description: string | null): Promise<boolean> {
  const { rowCount } = await db.query('UPDATE roles SET description = $2 WHERE name = $1', [name, description]);
  return rowCount > 0;
}

export async function deleteRole(db: Queryable, name: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM roles WHERE name = $1', [name]);
  return rowCount > 0;
}

export async function insertComposite(db: Queryable, parentId: string, childId: string): Promise<void> {
  await db.query('INSERT INTO role_composites (parent_id, child_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [parentId, childId]);
}

export async function deleteComposite(db: Queryable, parentId: string, childId: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM role_composites WHERE parent_id = $1 AND child_id = $2', [parentId, childId]);
  return rowCount > 0;
}

interface PermissionRow {
  id: string;
  indicator: string;
  name: string;
  description: string | null;
  created_at: Date;
}

const toPermission = (row: PermissionRow): Permission => ({ id: row.id, indicator: row.indicator, name: row.name, description: row.description, createdAt: row.created_at });

export async function insertPermission(db: Queryable, permission: { indicator: string; name: string; description: string | null }): Promise<Permission> {
  try {
    const { rows } = await db.query<PermissionRow>(
      'INSERT INTO permissions (indicator, name, description) VALUES ($1, $2, $3) RETURNING *',
      [permission.indicator, permission.name, permission.description],
    );
    return toPermission(rows[0]!);
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('permission.exists', `permission ${permission.name} already exists on ${permission.indicator}`);
    if (isForeignKeyViolation(error)) throw new AppError('resource.not_found', `no API resource ${permission.indicator}`);
    if (isCheckViolation(error)) throw new AppError('permission.invalid_name', 'a permission name is one scope token: 1-128 printable characters without spaces, quotes or backslashes');
    throw error;
  }
}

export async function findPermission(db: Queryable, indicator: string, name: string): Promise<Permission | null> {
  const { rows } = await db.query<PermissionRow>('SELECT * FROM permissions WHERE indicator = $1 AND name = $2', [indicator, name]);
  return rows[0] ? toPermission(rows[0]) : null;
}

export async function findPermissionById(db: Queryable, id: string): Promise<Permission | null> {
  const { rows } = await db.query<PermissionRow>('SELECT * FROM permissions WHERE id = $1::uuid', [id]);
  return rows[0] ? toPermission(rows[0]) : null;
}

export async function deletePermissionById(db: Queryable, id: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM permissions WHERE id = $1::uuid', [id]);
  return rowCount > 0;
}

export async function listPermissions(db: Queryable, indicator?: string): Promise<Permission[]> {
  const { rows } = indicator === undefined
    ? await db.query<PermissionRow>('SELECT * FROM permissions ORDER BY indicator, name')
    : await db.query<PermissionRow>('SELECT * FROM permissions WHERE indicator = $1 ORDER BY name', [indicator]);
  return rows.map(toPermission);
}

export async function deletePermission(db: Queryable, indicator: string, name: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM permissions WHERE indicator = $1 AND name = $2', [indicator, name]);
  return rowCount > 0;
}

/** Removes permissions whose scope the resource no longer has (after its scopes changed); returns their names. */
export async function deletePermissionsOutside(db: Queryable, indicator: string, scopes: string[]): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>('DELETE FROM permissions WHERE indicator = $1 AND NOT (name = ANY($2::text[])) RETURNING name', [indicator, scopes]);
  return rows.map((row) => row.name).sort();
}

export async function insertRolePermission(db: Queryable, roleId: string, permissionId: string): Promise<void> {
  await db.query('INSERT INTO role_permissions (role_id, permission_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [roleId, permissionId]);
}

export async function deleteRolePermission(db: Queryable, roleId: string, permissionId: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM role_permissions WHERE role_id = $1 AND permission_id = $2', [roleId, permissionId]);
  return rowCount > 0;
}

/** Replaces the roles an account holds directly. */
export async function replaceAccountRoles(db: Queryable, accountId: string, roleIds: string[]): Promise<void> {
  await db.query('DELETE FROM account_roles WHERE account_id = $1 AND NOT (role_id = ANY($2::uuid[]))', [accountId, roleIds]);
  await db.query('INSERT INTO account_roles (account_id, role_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING', [accountId, roleIds]);
}

/** Replaces the roles a client holds. */
export async function replaceClientRoles(db: Queryable, clientId: string, roleIds: string[]): Promise<void> {
  try {
    await db.query('DELETE FROM client_roles WHERE client_id = $1 AND NOT (role_id = ANY($2::uuid[]))', [clientId, roleIds]);
    await db.query('INSERT INTO client_roles (client_id, role_id) SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING', [clientId, roleIds]);
  } catch (error) {
    if (isForeignKeyViolation(error)) throw new AppError('client.not_found', `no client with id ${clientId}`);
    throw error;
  }
}

export async function findClientRoleNames(db: Queryable, clientId: string): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>('SELECT r.name FROM client_roles cr JOIN roles r ON r.id = cr.role_id WHERE cr.client_id = $1 ORDER BY r.name', [clientId]);
  return rows.map((row) => row.name);
}

/** The roles each of the given clients holds directly, by client id (clients without roles are absent). */
export async function findClientRoleNamesByClient(db: Queryable, clientIds: string[]): Promise<Map<string, string[]>> {
  const { rows } = await db.query<{ client_id: string; name: string }>(
    'SELECT cr.client_id, r.name FROM client_roles cr JOIN roles r ON r.id = cr.role_id WHERE cr.client_id = ANY($1::text[]) ORDER BY cr.client_id, r.name',
    [clientIds],
  );
  const byClient = new Map<string, string[]>();
  for (const row of rows) {
    const names = byClient.get(row.client_id);
    if (names) names.push(row.name);
    else byClient.set(row.client_id, [row.name]);
  }
  return byClient;
}
