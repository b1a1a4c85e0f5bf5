import { createHash, randomUUID } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';

/** A DPoP key pair (RFC 9449 §4), its public JWK and that key's thumbprint (RFC 7638), the cnf.jkt of bound tokens. */
export interface DpopKey {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
  jkt: string;
}

export async function dpopKey(alg: 'ES256' | 'RS256' = 'ES256'): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  const publicJwk = await exportJWK(publicKey);
  return { privateKey, publicKey, publicJwk, jkt: await calculateJwkThumbprint(publicJwk) };
}

/** ath: the access token's SHA-256, base64url (RFC 9449 §4.2). */
export const accessTokenHash = (accessToken: string): string => createHash('sha256').update(accessToken).digest('base64url');

/**
 * A DPoP proof for one request, as RFC 9449 §4.2 shapes it: typ dpop+jwt, the public key in the
 * header, htm, htu, iat, a fresh jti, and ath when it goes with an access token. `claims` and
 * `header` change or remove (undefined) any part, for proofs that must be refused.
 */
export async function dpopProof(key: DpopKey, htm: string, htu: string, options: { accessToken?: string; claims?: Record<string, unknown>; header?: Record<string, unknown>; alg?: string } = {}): Promise<string> {
  const claims: Record<string, unknown> = {
    htm, htu, iat: Math.floor(Date.now() / 1000), jti: randomUUID(),
    ...(options.accessToken ? { ath: accessTokenHash(options.accessToken) } : {}),
    ...options.claims,
  };
  const header = { alg: options.alg ?? (key.publicJwk.kty === 'EC' ? 'ES256' : 'RS256'), typ: 'dpop+jwt', jwk: key.publicJwk, ...options.header };
  const defined = <T extends Record<string, unknown>>(value: T) => Object.fromEntries(Object.entries(value).filter(([, item]) => item !== undefined));
  return new SignJWT(defined(claims)).setProtectedHeader(defined(header) as { alg: string }).sign(key.privateKey);
}
