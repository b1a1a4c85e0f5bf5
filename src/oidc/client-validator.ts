import type Provider from 'oidc-provider';
import type { ClientMetadata } from '../clients/repository.ts';
import { AppError } from '../errors.ts';

/**
 * Client metadata checked by oidc-provider's own client schema, so what is stored is exactly
 * what the provider will load. That schema quietly drops keys it does not recognise (an RFC 7591
 * field of a feature that is off, a typo); a dropped key would be stored and never work, so
 * each is refused by name here: the recognised ones are those the built client still carries.
 */
export function createClientValidator(provider: Provider) {
  type BuiltClient = { metadata(): Record<string, unknown> };
  return async (metadata: ClientMetadata): Promise<void> => {
    // Looked up on each call: a key change replaces the provider (src/oidc/provider-holder.ts).
    const Client = provider.Client as unknown as (new (metadata: ClientMetadata) => BuiltClient) & { validate(metadata: ClientMetadata): Promise<void> };
    let recognised: Record<string, unknown>;
    try {
      recognised = new Client(metadata).metadata();
      await Client.validate(metadata);
    } catch (error) {
      const description = (error as { error_description?: string }).error_description ?? (error as Error).message;
      throw new AppError('client.invalid', `metadata: ${description}`);
    }
    const unknown = Object.keys(metadata).filter((key) => !(key in recognised));
    if (unknown.length) {
      throw new AppError('client.invalid', `metadata.${unknown[0]}: not a client metadata field this provider supports (RFC 7591 and OpenID Connect Registration fields of the features that are on)`);
    }
  };
}
