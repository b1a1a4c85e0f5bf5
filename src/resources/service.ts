import { z } from 'zod';
import type { Database } from '../db/database.ts';
import { AppError } from '../errors.ts';
import { findClientMetadataById } from '../clients/repository.ts';
import {
  insertResource, findResourceByIndicator, listResources, upsertClientResourceScopes, findClientResourceGrant, type ApiResource,
} from './repository.ts';

// RFC 8707 §2: an absolute URI without a fragment.
const indicatorSchema = z.url().refine((value) => !value.includes('#'), 'a resource indicator has no fragment');
const scopeToken = z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'scope names are printable ASCII without spaces, quotes or backslashes');

export const splitScopes = (value: string): string[] => [...new Set(value.split(/\s+/).filter(Boolean))];

export type ResourceService = ReturnType<typeof createResourceService>;

export function createResourceService(db: Database) {
  function checkIndicator(indicator: string): string {
    if (!indicatorSchema.safeParse(indicator).success) throw new AppError('resource.invalid_indicator', `resource indicator must be an absolute URI without a fragment: ${indicator}`);
    return indicator;
  }

  function checkScopes(scopes: string[]): string[] {
    for (const scope of scopes) {
      if (!scopeToken.safeParse(scope).success) throw new AppError('resource.invalid_scope', `invalid scope name: ${scope}`);
    }
    return scopes;
  }

  return {
    async create(input: { indicator: string; scopes: string[]; ttl?: number | undefined; name?: string | undefined }): Promise<ApiResource> {
      const ttl = input.ttl ?? 3600;
      if (!Number.isInteger(ttl) || ttl <= 0 || ttl > 86_400) throw new AppError('resource.invalid_ttl', 'ttl is a whole number of seconds from 1 to 86400');
      return insertResource(db, { indicator: checkIndicator(input.indicator), name: input.name ?? null, scopes: checkScopes(input.scopes), accessTokenTtl: ttl });
    },

    list: (): Promise<ApiResource[]> => listResources(db),

    /** Sets which of the resource's scopes a client may receive (replacing an earlier grant). */
    async grant(clientId: string, indicator: string, scopes: string[]): Promise<void> {
      const resource = await findResourceByIndicator(db, checkIndicator(indicator));
      if (!resource) throw new AppError('resource.not_found', `no resource ${indicator}; create it with: idp resource create`, 404);
      if (!(await findClientMetadataById(db, clientId))) throw new AppError('client.not_found', `no client with id ${clientId}`, 404);
      const unknown = scopes.filter((scope) => !resource.scopes.includes(scope));
      if (unknown.length) throw new AppError('resource.invalid_scope', `${indicator} has no scope ${unknown.join(', ')} (it has: ${resource.scopes.join(' ') || 'none'})`);
      await upsertClientResourceScopes(db, clientId, indicator, scopes);
    },

    grantFor: (clientId: string, indicator: string) => findClientResourceGrant(db, clientId, indicator),
    find: (indicator: string) => findResourceByIndicator(db, indicator),
  };
}
