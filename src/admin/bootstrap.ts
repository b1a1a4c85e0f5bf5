import type { Database } from '../db/database.ts';
import { ADMIN_BASE } from './router.ts';

export const ADMIN_SCOPES = ['admin:read', 'admin:write'] as const;
export const ADMIN_ROLE = 'admin';
export const adminResourceIndicator = (issuer: string): string => `${issuer}${ADMIN_BASE}`;

/**
 * The provider's own admin API is an API resource like any other: it exists with scopes
 * admin:read and admin:write, both are permissions, and the `admin` role holds them. Idempotent,
 * safe when several instances start at once (every statement is an upsert).
 */
export async function ensureAdminResource(db: Database, issuer: string): Promise<string> {
  const indicator = adminResourceIndicator(issuer);
  await db.transaction(async (tx) => {
    await tx.query(
      `INSERT INTO api_resources (indicator, name, scopes, access_token_ttl) VALUES ($1, 'Admin API', $2, 600)
       ON CONFLICT (indicator) DO UPDATE SET scopes = ARRAY(SELECT DISTINCT unnest(api_resources.scopes || EXCLUDED.scopes))`,
      [indicator, [...ADMIN_SCOPES]],
    );
    await tx.query(`INSERT INTO roles (name, description) VALUES ($1, 'Administers this identity provider') ON CONFLICT (name) DO NOTHING`, [ADMIN_ROLE]);
    for (const scope of ADMIN_SCOPES) {
      await tx.query(
        `INSERT INTO permissions (indicator, name, description) VALUES ($1, $2, $3) ON CONFLICT (indicator, name) DO NOTHING`,
        [indicator, scope, scope === 'admin:read' ? 'Read users, roles, clients, resources and sessions' : 'Change them'],
      );
      await tx.query(
        `INSERT INTO role_permissions (role_id, permission_id)
         SELECT r.id, p.id FROM roles r, permissions p WHERE r.name = $1 AND p.indicator = $2 AND p.name = $3
         ON CONFLICT DO NOTHING`,
        [ADMIN_ROLE, indicator, scope],
      );
    }
  });
  return indicator;
}
