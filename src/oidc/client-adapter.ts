import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Database } from '../db/database.ts';
import { findClientMetadataById, type ClientMetadata } from '../clients/repository.ts';
import { noConfigCache, type ConfigCache } from '../cache/config-cache.ts';
import { textFlaw } from '../http/text-flaws.ts';

/**
 * Clients live in the SQL `clients` table whichever store holds the provider's state, and are
 * managed through the CLI (dynamic registration is off), so only `find` has work to do.
 * oidc-provider caches the Client it builds per distinct metadata; the metadata itself comes
 * from `cache` (src/cache/config-cache.ts), so a known client costs no query at all. The cached
 * object is shared between requests: oidc-provider copies what it keeps and changes none of it.
 */
/**
 * Every ID token carries auth_time. OIDC Core §2 makes it required only when asked for
 * (max_age, require_auth_time, the claims parameter), but Keycloak, Entra ID and Google always
 * send it and many relying parties rely on it; oidc-provider adds it for a client that has
 * require_auth_time, so every client gets that, whatever its stored metadata says.
 */
function withAuthTime(metadata: ClientMetadata | null): ClientMetadata | null {
  return metadata && { ...metadata, require_auth_time: true };
}

/**
 * `builtin`: clients that are part of this provider (the account console, src/account/client.ts),
 * answered from code before the table is asked, so a stored row with the same id cannot shadow,
 * change or remove them.
 */
export function createClientAdapter(db: Database, cache: ConfigCache = noConfigCache, builtin: readonly ClientMetadata[] = []): Adapter {
  const own = new Map(builtin.map((metadata) => [metadata.client_id, metadata]));
  const readOnly = async (): Promise<never> => {
    throw new Error('clients are managed with the idp CLI, not through the provider');
  };
  return {
    async find(id: string): Promise<AdapterPayload | undefined> {
      // A client id can also arrive inside a JWT (client_assertion, id_token_hint), past the
      // edge check of request bytes; one no client can have is unknown, without a query.
      if (textFlaw(id)) return undefined;
      const fixed = own.get(id);
      if (fixed) return fixed as AdapterPayload;
      return ((await cache.get(`client:${id}`, async () => withAuthTime(await findClientMetadataById(db, id)))) ?? undefined) as AdapterPayload | undefined;
    },
    upsert: readOnly,
    consume: readOnly,
    destroy: readOnly,
    revokeByGrantId: readOnly,
    findByUid: async () => undefined,
    findByUserCode: async () => undefined,
  };
}
