import type { Queryable } from '../db/database.ts';
import { AppError, isUniqueViolation, isForeignKeyViolation } from '../errors.ts';

export interface ApiResource {
  indicator: string;
  name: string | null;
  scopes: string[];
  accessTokenTtl: number;
  createdAt: Date;
}

interface ResourceRow {
  indicator: string;
  name: string | null;
  scopes: string[];
  access_token_ttl: number;
  created_at: Date;
}

const toResource = (row: ResourceRow): ApiResource => ({
  indicator: row.indicator,
  name: row.name,
  scopes: row.scopes,
  accessTokenTtl: row.access_token_ttl,
  createdAt: row.created_at,
});

export async function insertResource(db: Queryable, resource: { indicator: string; name: string | null; scopes: string[]; accessTokenTtl: number }): Promise<ApiResource> {
  try {
    const { rows } = await db.query<ResourceRow>(
      'INSERT INTO api_resources (indicator, name, scopes, access_token_ttl) VALUES ($1, $2, $3, $4) RETURNING *',
      [resource.indicator, resource.name, resource.scopes, resource.accessTokenTtl],
    );
    return toResource(rows[0]!);
  } catch (error) {
    if (isUniqueViolation(error)) throw new AppError('resource.exists', `resource ${resource.indicator} already exists`);
    throw error;
  }
}

export async function findResourceByIndicator(db: Queryable, indicator: string): Promise<ApiResource | null> {
  const { rows } = await db.query<ResourceRow>('SELECT * FROM api_resources WHERE indicator = $1', [indicator]);
  return rows[0] ? toResource(rows[0]) : null;
}

export async function listResources(db: Queryable): Promise<ApiResource[]> {
  const { rows } = await db.query<ResourceRow>('SELECT * FROM api_resources ORDER BY indicator');
  return rows.map(toResource);
}

/** Changes the given fields of a resource; null when there is no such resource. */
export async function updateResource(db: Queryable, indicator: string, changes: { name?: string | null | undefined; scopes?: string[] | undefined; accessTokenTtl?: number | undefined }): Promise<ApiResource | null> {
  const { rows } = await db.query<ResourceRow>(
    `UPDATE api_resources SET
       name = CASE WHEN $2 THEN $3 ELSE name END,
       scopes = COALESCE($4::text[], scopes),
       access_token_ttl = COALESCE($5::integer, access_token_ttl)
     WHERE indicator = $1 RETURNING *`,
    [indicator, changes.name !== undefined, changes.name ?? null, changes.scopes ?? null, changes.accessTokenTtl ?? null],
  );
  return rows[0] ? toResource(rows[0]) : null;
}

/** The resource, its row locked until the surrounding transaction ends. */
export async function findResourceForUpdate(db: Queryable, indicator: string): Promise<ApiResource | null> {
  const { rows } = await db.query<ResourceRow>('SELECT * FROM api_resources WHERE indicator = $1 FOR UPDATE', [indicator]);
  return rows[0] ? toResource(rows[0]) : null;
}

export async function deleteResource(db: Queryable, indicator: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM api_resources WHERE indicator = $1', [indicator]);
  return rowCount > 0;
}

export interface ClientResourceGrant {
  clientId: string;
  indicator: string;
  scopes: string[];
}

export async function listClientResourceGrants(db: Queryable, indicator: string): Promise<ClientResourceGrant[]> {
  const { rows } = await db.query<{ client_id: string; indicator: string; scopes: string[] }>(
    'SELECT client_id, indicator, scopes FROM client_resource_scopes WHERE indicator = $1 ORDER BY client_id',
    [indicator],
  );
  return rows.map((row) => ({ clientId: row.client_id, indicator: row.indicator, scopes: row.scopes }));
}

export async function deleteClientResourceScopes(db: Queryable, clientId: string, indicator: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM client_resource_scopes WHERE client_id = $1 AND indicator = $2', [clientId, indicator]);
  return rowCount > 0;
}

/** Drops scopes the resource no longer has from every client's grant on it. */
export async function trimClientResourceScopes(db: Queryable, indicator: string, scopes: string[]): Promise<void> {
  await db.query(
    `UPDATE client_resource_scopes SET scopes = ARRAY(SELECT s FROM unnest(scopes) WITH ORDINALITY AS t(s, n) WHERE s = ANY($2::text[]) ORDER BY n)
     WHERE indicator = $1 AND NOT (scopes <@ $2::text[])`,
    [indicator, scopes],
  );
}

export async function upsertClientResourceScopes(db: Queryable, clientId: string, indicator: string, scopes: string[]): Promise<void> {
  try {
    await db.query(
      `INSERT INTO client_resource_scopes (client_id, indicator, scopes) VALUES ($1, $2, $3)
       ON CONFLICT (client_id, indicator) DO UPDATE SET scopes = EXCLUDED.scopes`,
      [clientId, indicator, scopes],
    );
  } catch (error) {
    if (isForeignKeyViolation(error)) throw new AppError('client.not_found', `no client with id ${clientId}`);
    throw error;
  }
}

/** The resource as one client may use it: its TTL and the scopes granted to that client. */
export async function findClientResourceGrant(db: Queryable, clientId: string, indicator: string): Promise<{ scopes: string[]; accessTokenTtl: number } | null> {
  const { rows } = await db.query<{ scopes: string[]; access_token_ttl: number }>(
    `SELECT crs.scopes, r.access_token_ttl FROM client_resource_scopes crs
     JOIN api_resources r ON r.indicator = crs.indicator
     WHERE crs.client_id = $1 AND crs.indicator = $2`,
    [clientId, indicator],
  );
  return rows[0] ? { scopes: rows[0].scopes, accessTokenTtl: rows[0].access_token_ttl } : null;
}

/**
 * The resource and what one client was granted there, in one round trip (the token endpoint
 * asks this on every request for a resource): null when the resource does not exist; `scopes`
 * null when the client holds no grant.
 */
export async function findResourceForClient(db: Queryable, clientId: string, indicator: string): Promise<{ accessTokenTtl: number; scopes: string[] | null } | null> {
  const { rows } = await db.query<{ access_token_ttl: number; scopes: string[] | null }>(
    `SELECT r.access_token_ttl, crs.scopes FROM api_resources r
     LEFT JOIN client_resource_scopes crs ON crs.indicator = r.indicator AND crs.client_id = $1
     WHERE r.indicator = $2`,
    [clientId, indicator],
    { name: 'resource-for-client' },
  );
  return rows[0] ? { accessTokenTtl: rows[0].access_token_ttl, scopes: rows[0].scopes } : null;
}
