import { createLocalJWKSet, type JWK, type JWTVerifyGetKey } from 'jose';
import { publicJwk } from './generate.ts';

/**
 * The keys this instance holds right now, for what verifies our own tokens outside
 * oidc-provider (the admin and account APIs, JWT introspection). `getKey` is one stable function
 * for jose's jwtVerify that always looks in the current set, so a verifier built once follows
 * every rotation.
 */
export interface KeyRing {
  /** Private JWKs in oidc-provider's order (service.loadPublished). */
  readonly providerKeys: JWK[];
  /** The public halves of every published key. */
  readonly published: JWK[];
  readonly getKey: JWTVerifyGetKey;
  update(providerKeys: JWK[]): void;
}

export function createKeyRing(initial: JWK[]): KeyRing {
  let providerKeys = initial;
  let published = initial.map(publicJwk);
  let local = createLocalJWKSet({ keys: published });
  return {
    get providerKeys() {
      return providerKeys;
    },
    get published() {
      return published;
    },
    getKey: (header, token) => local(header, token),
    update(next) {
      providerKeys = next;
      published = next.map(publicJwk);
      local = createLocalJWKSet({ keys: published });
    },
  };
}
