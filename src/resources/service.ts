import { z } from 'zod';
import type { Database } from '../db/database.ts';
import { noConfigCache, type ConfigCache } from '../cache/config-cache.ts';
import { AppError } from '../errors.ts';
import { findClientMetadataById } from '../clients/repository.ts';
import { deletePermissionsOutside } from '../rbac/repository.ts';
import {
  insertResource, findResourceForClient, findResourceByIndicator, listResources, upsertClientResourceScopes, findClientResourceGrant, findResourceForUpdate, updateResource,
  deleteResource, listClientResourceGrants, deleteClientResourceScopes, trimClientResourceScopes, type ApiResource, type ClientResourceGrant,
} from './repository.ts';

// RFC 8707 §2: an absolute URI without a fragment.
const indicatorSchema = z.url().refine((value) => !value.includes('#'), 'a resource indicator has no fragment');
const scopeToken = z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'scope names are printable ASCII without spaces, quotes or backslashes');

export const splitScopes = (value: string): string[] => [...new Set(value.split(/\s+/).filter(Boolean))];

export type ResourceService = ReturnType<typeof createResourceService>;

/** Resources that may not be deleted, renamed or lose scopes (the admin API's own). */
export interface ProtectOptions {
  protectedIndicators?: readonly string[] | undefined;
}

export interface ResourceChanges {
  name?: string | null | undefined;
  scopes?: string[] | undefined;
  accessTokenTtl?: number | undefined;
}

/** API resources and clients' grants there; `cache` serves the token endpoint's lookup (forClient). */
export function createResourceService(db: Database, cache: ConfigCache = noConfigCache) {
  function checkIndicator(indicator: string): string {
    if (!indicatorSchema.safeParse(indicator).success) throw new AppError('resource.invalid_indicator', `indicator: a resource indicator must be an absolute URI without a fragment: ${indicator}`);
    return indicator;
  }

  function checkScopes(scopes: string[]): string[] {
    for (const scope of scopes) {
      if (!scopeToken.safeParse(scope).success) throw new AppError('resource.invalid_scope', `scopes: invalid scope name "${scope}" (printable ASCII without spaces, quotes or backslashes)`);
    }
    return [...new Set(scopes)];
  }

  function checkTtl(ttl: number): number {
    if (!Number.isInteger(ttl) || ttl <= 0 || ttl > 86_400) throw new AppError('resource.invalid_ttl', 'ttl is a whole number of seconds from 1 to 86400');
    return ttl;
  }

  const notFound = (indicator: string) => new AppError('resource.not_found', `no API resource ${indicator}`);
  const isProtected = (indicator: string, options: ProtectOptions) => options.protectedIndicators?.includes(indicator) ?? false;

  return {
    async create(input: { indicator: string; scopes: string[]; ttl?: number | undefined; name?: string | undefined }): Promise<ApiResource> {
      return insertResource(db, { indicator: checkIndicator(input.indicator), name: input.name ?? null, scopes: checkScopes(input.scopes), accessTokenTtl: checkTtl(input.ttl ?? 3600) });
    },

    list: (): Promise<ApiResource[]> => listResources(db),

    async get(indicator: string): Promise<ApiResource> {
      const resource = await findResourceByIndicator(db, indicator);
      if (!resource) throw notFound(indicator);
      return resource;
    },

    /**
     * Changes a resource's name, scopes or token lifetime. When scopes go, so do the permissions
     * named after them (and the roles' grants of those) and the clients' grants of them, in the
     * same transaction: the next token request sees the new scopes and nothing removed.
     */
    async update(indicator: string, changes: ResourceChanges, options: ProtectOptions = {}): Promise<ApiResource> {
      const scopes = changes.scopes === undefined ? undefined : checkScopes(changes.scopes);
      const accessTokenTtl = changes.accessTokenTtl === undefined ? undefined : checkTtl(changes.accessTokenTtl);
      return db.transaction(async (tx) => {
        const current = await findResourceForUpdate(tx, indicator);
        if (!current) throw notFound(indicator);
        if (isProtected(indicator, options)) {
          if (changes.name !== undefined && changes.name !== current.name) {
            throw new AppError('resource.protected', `${indicator} is this provider's admin API; it cannot be renamed`);
          }
          const dropped = scopes ? current.scopes.filter((scope) => !scopes.includes(scope)) : [];
          if (dropped.length) throw new AppError('resource.protected', `${indicator} is this provider's admin API; its scopes ${dropped.join(', ')} cannot be removed`);
        }
        const resource = await updateResource(tx, indicator, { name: changes.name, scopes, accessTokenTtl });
        if (!resource) throw notFound(indicator);
        if (scopes) {
          await deletePermissionsOutside(tx, indicator, scopes);
          await trimClientResourceScopes(tx, indicator, scopes);
        }
        return resource;
      });
    },

    /** Deletes a resource with its permissions and client grants (the database cascades). */
    async delete(indicator: string, options: ProtectOptions = {}): Promise<void> {
      if (isProtected(indicator, options)) throw new AppError('resource.protected', `${indicator} is this provider's admin API; it cannot be deleted`);
      if (!(await deleteResource(db, indicator))) throw notFound(indicator);
    },

    /** Which clients may receive which of the resource's scopes. */
    async grants(indicator: string): Promise<ClientResourceGrant[]> {
      if (!(await findResourceByIndicator(db, indicator))) throw notFound(indicator);
      return listClientResourceGrants(db, indicator);
    },

    async revokeGrant(clientId: string, indicator: string): Promise<void> {
      if (!(await findResourceByIndicator(db, indicator))) throw notFound(indicator);
      if (!(await deleteClientResourceScopes(db, clientId, indicator))) {
        throw new AppError('resource.grant_not_found', `client ${clientId} has no grant on ${indicator}`);
      }
    },

    /** Sets which of the resource's scopes a client may receive (replacing an earlier grant). */
    async grant(clientId: string, indicator: string, scopes: string[]): Promise<void> {
      checkIndicator(indicator);
      // The resource row stays locked until the grant is stored, so its scopes cannot shrink in between.
      await db.transaction(async (tx) => {
        const resource = await findResourceForUpdate(tx, indicator);
        if (!resource) throw new AppError('resource.not_found', `no resource ${indicator}; create it with: idp resource create`);
        if (!(await findClientMetadataById(tx, clientId))) throw new AppError('client.not_found', `no client with id ${clientId}`);
        const unknown = scopes.filter((scope) => !resource.scopes.includes(scope));
        if (unknown.length) throw new AppError('resource.invalid_scope', `${indicator} has no scope ${unknown.join(', ')} (it has: ${resource.scopes.join(' ') || 'none'})`);
        await upsertClientResourceScopes(tx, clientId, indicator, [...new Set(scopes)]);
      });
    },

    grantFor: (clientId: string, indicator: string) => findClientResourceGrant(db, clientId, indicator),
    find: (indicator: string) => findResourceByIndicator(db, indicator),
    forClient: (clientId: string, indicator: string) => cache.get(`resource-for-client:${clientId}\n${indicator}`, () => findResourceForClient(db, clientId, indicator)),
  };
}
