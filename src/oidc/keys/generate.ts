import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { SigningAlg } from './lifecycle.ts';

const generate = promisify(generateKeyPair);

/** A new private signing JWK; its kid is its RFC 7638 thumbprint. Off the event loop: RSA takes a while. */
export async function generateSigningJwk(alg: SigningAlg): Promise<JWK> {
  const { privateKey } = alg === 'RS256'
    ? await generate('rsa', { modulusLength: 2048 })
    : await generate('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  return { ...jwk, kid, alg, use: 'sig' };
}

/** The public half of a JWK: what /jwks and our own verifiers hold. */
export function publicJwk(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, oth: _oth, k: _k, priv: _priv, ...publicPart } = jwk as JWK & { priv?: string };
  return publicPart;
}
