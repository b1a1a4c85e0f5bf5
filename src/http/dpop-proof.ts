import { createHash } from 'node:crypto';
import { EmbeddedJWK, calculateJwkThumbprint, jwtVerify, type JWK } from 'jose';
import type { Clock } from '../clock.ts';
import type { LimiterFactory } from '../security/rate-limits.ts';

/** Why a DPoP proof was refused; the resource server answers 401 invalid_dpop_proof (RFC 9449 §7.1). */
export class DpopProofError extends Error {}

/** What a DPoP proof must match: this request, and the access token it comes with. */
export interface DpopProofRequest {
  /** Every DPoP header of the request: exactly one is allowed. */
  proofs: readonly string[];
  method: string;
  /** The URL the client called, as the public sees it (no query or fragment needed; ignored if present). */
  url: string;
  accessToken: string;
  /** The access token's cnf.jkt: the thumbprint of the key it is bound to. */
  jkt: string;
}

export interface DpopProofChecker {
  /** The signing algorithms a proof may use, for the `algs` challenge parameter. */
  readonly algorithms: readonly string[];
  /** Resolves when the proof is good and was not seen before; throws DpopProofError otherwise. */
  check(request: DpopProofRequest): Promise<void>;
}

const sha256 = (value: string): string => createHash('sha256').update(value).digest('base64url');

/**
 * Checks a DPoP proof presented to a resource server with a DPoP-bound access token, as RFC 9449
 * §4.3 and §7.1 list: one well-formed JWT, typ dpop+jwt, an asymmetric algorithm we accept, a
 * signature by the public key in its `jwk` header, that key's thumbprint equal to the token's
 * cnf.jkt, htm and htu naming this request, iat within `windowSeconds` of now, ath the hash of
 * the token, and a jti not seen before. No server nonces (§8): freshness is iat plus the jti.
 *
 * Seen jtis are counted by a limiter (src/security/rate-limits.ts) in the shared store, one
 * point per proof: the second take of a jti counts 2, on any instance, even when two requests
 * race (the take is atomic). Its window is as long as the span of iat values accepted (the
 * window either side of now), so a proof is remembered for as long as it could be accepted.
 */
export function createDpopProofChecker(deps: { clock: Clock; algorithms: readonly string[]; limiter: LimiterFactory; windowSeconds: number }): DpopProofChecker {
  const { clock, algorithms, windowSeconds } = deps;
  const seen = deps.limiter('dpop-jti', { points: 1, durationSeconds: 2 * windowSeconds + 1 });
  const refuse = (reason: string): never => {
    throw new DpopProofError(reason);
  };

  async function check(request: DpopProofRequest): Promise<void> {
    // Repeated headers may arrive joined by commas, which a compact JWT never contains.
    const proofs = request.proofs.flatMap((value) => value.split(',')).map((value) => value.trim()).filter(Boolean);
    if (proofs.length !== 1) refuse(proofs.length ? 'send one DPoP header, not several' : 'a DPoP-bound access token needs a DPoP header with a proof');
    let verified;
    try {
      verified = await jwtVerify(proofs[0]!, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: [...algorithms], currentDate: new Date(clock.now()) });
    } catch {
      return refuse(`the DPoP proof is not a JWT of type dpop+jwt signed with its embedded public key in ${algorithms.join(', ')}`);
    }
    const { payload, protectedHeader } = verified;
    if (await calculateJwkThumbprint(protectedHeader.jwk as JWK) !== request.jkt) refuse('the DPoP proof is signed with another key than the one this access token is bound to');
    if (payload.htm !== request.method) refuse(`the DPoP proof's htm is not this request's method (${request.method})`);
    const htu = typeof payload.htu === 'string' ? URL.parse(payload.htu) : null;
    if (!htu || !sameResource(htu, new URL(request.url))) refuse("the DPoP proof's htu is not this request's URL");
    if (typeof payload.iat !== 'number' || Math.abs(clock.now() / 1000 - payload.iat) > windowSeconds) refuse(`the DPoP proof's iat is not within ${windowSeconds} seconds of now`);
    if (payload.ath !== sha256(request.accessToken)) refuse("the DPoP proof's ath is not the hash of this access token");
    if (typeof payload.jti !== 'string' || !payload.jti) refuse('the DPoP proof has no jti');
    // Last, so only a proof good in every other way takes a place in the store.
    const taken = await seen.take(sha256(`${request.jkt}:${payload.jti as string}`));
    if (taken.consumed > 1) refuse('this DPoP proof was used before: make a new one (a new jti) for every request');
  }

  return { algorithms, check };
}

/** htu matches when scheme, host, port and path are the same, after URL normalisation (RFC 9449 §4.3, point 9). */
function sameResource(htu: URL, expected: URL): boolean {
  return htu.origin === expected.origin && htu.pathname === expected.pathname;
}
