import type { Configuration } from 'oidc-provider';
import type { JWK } from 'jose';

/** How a client can authenticate at the token, introspection, revocation and PAR endpoints. */
export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none'] as const;

/**
 * The algorithms a client may use for what it signs (client assertions, request objects, DPoP
 * proofs) and may ask of us for its ID tokens. Discovery advertises these lists, so each holds only
 * what works: ID tokens only in algorithms we hold a key for (src/oidc/keys/); HS256 only
 * where a client secret is the key (client_secret_jwt, request objects of secret-holding clients).
 */
export function signingAlgorithmChoices(signingKeys: readonly JWK[]): NonNullable<Configuration['enabledJWA']> {
  const asymmetric = ['RS256', 'PS256', 'ES256', 'Ed25519', 'EdDSA'];
  const ours = asymmetric.filter((alg) => signingKeys.some((key) => key.alg === alg));
  return {
    clientAuthSigningAlgValues: ['HS256', ...asymmetric],
    requestObjectSigningAlgValues: ['HS256', ...asymmetric],
    idTokenSigningAlgValues: ours,
    dPoPSigningAlgValues: ['ES256', 'Ed25519', 'EdDSA', 'PS256', 'RS256'],
  } as NonNullable<Configuration['enabledJWA']>;
}
