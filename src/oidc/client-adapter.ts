import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Database } from '../db/database.ts';
import { findClientMetadataById } from '../clients/repository.ts';
import { noConfigCache, type ConfigCache } from '../cache/config-cache.ts';

/**
 * Clients live in the SQL `clients` table whichever store holds the provider's state, and are
 * managed through the CLI (dynamic registration is off), so only `find` has work to do.
 * oidc-provider caches the Client it builds per distinct metadata; the metadata itself comes
 * from `cache` (src/cache/config-cache.ts), so a known client costs no query at all. The cached
 * object is shared between requests: oidc-provider copies what it keeps and changes none of it.
 */
export function createClientAdapter(db: Database, cache: ConfigCache = noConfigCache): Adapter {
  const readOnly = async (): Promise<never> => {
    throw new Error('clients are managed with the idp CLI, not through the provider');
  };
  return {
    async find(id: string): Promise<AdapterPayload | undefined> {
      return ((await cache.get(`client:${id}`, () => findClientMetadataById(db, id))) ?? undefined) as AdapterPayload | undefined;
    },
    upsert: readOnly,
    consume: readOnly,
    destroy: readOnly,
    revokeByGrantId: readOnly,
    findByUid: async () => undefined,
    findByUserCode: async () => undefined,
  };
}
