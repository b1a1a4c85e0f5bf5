import type { Queryable } from '../db/database.ts';

/*
 * Effective roles and permissions in one round trip each: a recursive CTE walks role_composites
 * from the roles held directly (UNION, not UNION ALL, so a cycle could not loop, although the
 * service refuses to create one).
 */

const effectiveRoles = (holder: 'account' | 'client') => `
  WITH RECURSIVE held(id) AS (
    SELECT role_id FROM ${holder === 'account' ? 'account_roles WHERE account_id = $1::uuid' : 'client_roles WHERE client_id = $1'}
    UNION
    SELECT rc.child_id FROM role_composites rc JOIN held ON rc.parent_id = held.id
  )`;

export interface Effective {
  roles: string[];
  /** Permission names by API resource indicator. */
  permissions: Record<string, string[]>;
}

/** Every role an account or client holds, directly or through composites, and what they permit. */
export async function findEffective(db: Queryable, holder: 'account' | 'client', id: string): Promise<Effective> {
  const { rows } = await db.query<{ kind: 'role' | 'permission'; indicator: string | null; name: string }>(
    `${effectiveRoles(holder)}
     SELECT 'role' AS kind, NULL AS indicator, r.name FROM held JOIN roles r ON r.id = held.id
     UNION ALL
     SELECT DISTINCT 'permission', p.indicator, p.name
       FROM held JOIN role_permissions rp ON rp.role_id = held.id JOIN permissions p ON p.id = rp.permission_id
     ORDER BY 1, 2, 3`,
    [id],
    { name: `effective-${holder}` },
  );
  const effective: Effective = { roles: [], permissions: {} };
  for (const row of rows) {
    if (row.kind === 'role') effective.roles.push(row.name);
    else (effective.permissions[row.indicator!] ??= []).push(row.name);
  }
  return effective;
}

/** True when making `parentId` include `childId` would close a loop (child already includes parent). */
export async function wouldCycle(db: Queryable, parentId: string, childId: string): Promise<boolean> {
  if (parentId === childId) return true;
  const { rows } = await db.query(
    `WITH RECURSIVE below(id) AS (
       SELECT $1::uuid
       UNION
       SELECT rc.child_id FROM role_composites rc JOIN below ON rc.parent_id = below.id
     )
     SELECT 1 FROM below WHERE id = $2::uuid LIMIT 1`,
    [childId, parentId],
  );
  return rows.length > 0;
}

export interface ClientAccess {
  accessTokenTtl: number;
  /** Scopes granted to the client directly (`resource grant`), or null without a grant. */
  granted: string[] | null;
  /** What the client's effective roles permit on this resource. */
  permissions: string[];
  roles: string[];
}

/**
 * Everything a client-credentials token for one resource depends on, in one round trip: the
 * resource's TTL (null result when it does not exist), the client's grant there, and its
 * effective roles with their permissions on that resource. This runs on every such token.
 */
export async function findClientAccess(db: Queryable, clientId: string, indicator: string): Promise<ClientAccess | null> {
  const { rows } = await db.query<{ access_token_ttl: number; scopes: string[] | null; roles: string[]; permissions: string[] }>(
    `${effectiveRoles('client')}
     SELECT r.access_token_ttl, crs.scopes,
            ARRAY(SELECT ro.name FROM held JOIN roles ro ON ro.id = held.id ORDER BY ro.name) AS roles,
            ARRAY(SELECT DISTINCT p.name FROM held JOIN role_permissions rp ON rp.role_id = held.id
                    JOIN permissions p ON p.id = rp.permission_id WHERE p.indicator = r.indicator ORDER BY p.name) AS permissions
       FROM api_resources r
       LEFT JOIN client_resource_scopes crs ON crs.indicator = r.indicator AND crs.client_id = $1
      WHERE r.indicator = $2`,
    [clientId, indicator],
    { name: 'client-access' },
  );
  const row = rows[0];
  return row ? { accessTokenTtl: row.access_token_ttl, granted: row.scopes, permissions: row.permissions, roles: row.roles } : null;
}
