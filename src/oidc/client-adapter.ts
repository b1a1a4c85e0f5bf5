import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Database } from '../db/database.ts';
import { findClientMetadataById } from '../clients/repository.ts';

/**
 * Clients live in the SQL `clients` table whichever store holds the provider's state, and are
 * managed through the CLI (dynamic registration is off), so only `find` has work to do.
 * oidc-provider caches the Client it builds per distinct metadata, so a lookup is one query.
 */
export function createClientAdapter(db: Database): Adapter {
  const readOnly = async (): Promise<never> => {
    throw new Error('clients are managed with the idp CLI, not through the provider');
  };
  return {
    async find(id: string): Promise<AdapterPayload | undefined> {
      return ((await findClientMetadataById(db, id)) ?? undefined) as AdapterPayload | undefined;
    },
    upsert: readOnly,
    consume: readOnly,
    destroy: readOnly,
    revokeByGrantId: readOnly,
    findByUid: async () => undefined,
    findByUserCode: async () => undefined,
  };
}
