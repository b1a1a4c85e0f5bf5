import { createHash, timingSafeEqual } from 'node:crypto';
import type Provider from 'oidc-provider';

export type Redemption =
  | { ok: true; accountId: string; authTime: number; amr: string[]; acr: string | null; sessionUid: string | null; grantId: string | null; jti: string }
  // `reused`: the code was redeemed before, so someone else holds a copy (RFC 6749 §4.1.2).
  | { ok: false; reason: 'unknown' | 'expired' | 'mismatch'; detail: string }
  | { ok: false; reason: 'reused'; detail: string; jti: string; grantId: string | null; accountId: string | null };

/** RFC 7636 §4.6: BASE64URL(SHA256(verifier)) against the stored challenge, in constant time. */
function pkceMatches(verifier: string, challenge: unknown, method: unknown): boolean {
  if (method !== 'S256' || typeof challenge !== 'string') return false;
  const expected = Buffer.from(createHash('sha256').update(verifier).digest('base64url'));
  const given = Buffer.from(challenge);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * Redeems an authorization code of the account console inside the provider, as its token
 * endpoint would (lib/actions/grants/authorization_code.js): same client, same redirect URI, the
 * PKCE verifier, not expired, used once. No HTTP round trip to our own public URL, which a
 * proxy or split DNS can make unreachable from inside; no tokens either, as the console needs
 * only who signed in and when. `consume()` marks the code used in the provider's store.
 */
export async function redeemCode(provider: Provider, code: unknown, expected: { clientId: string; redirectUri: string; verifier: string; nonce: string }): Promise<Redemption> {
  if (typeof code !== 'string' || code.length === 0 || code.length > 512) return { ok: false, reason: 'unknown', detail: 'the callback carries no authorization code' };
  const found = await provider.AuthorizationCode.find(code, { ignoreExpiration: true });
  if (!found || found.clientId !== expected.clientId) return { ok: false, reason: 'unknown', detail: 'the authorization code is unknown' };
  const jti = found.jti as string;
  // Set by consume() (in the payload, lib/models/authorization_code.js); the type declarations lack it.
  if ((found as { consumed?: unknown }).consumed) {
    return { ok: false, reason: 'reused', detail: 'the authorization code was used already', jti, grantId: found.grantId ?? null, accountId: found.accountId ?? null };
  }
  if (found.isExpired) return { ok: false, reason: 'expired', detail: 'the authorization code has expired' };
  if (found.redirectUri !== expected.redirectUri || found.nonce !== expected.nonce || !pkceMatches(expected.verifier, found.codeChallenge, found.codeChallengeMethod)) {
    return { ok: false, reason: 'mismatch', detail: 'the authorization code was not issued to this sign-in' };
  }
  if (!found.accountId || typeof found.authTime !== 'number') return { ok: false, reason: 'mismatch', detail: 'the authorization code names no sign-in' };
  await found.consume();
  return {
    ok: true,
    accountId: found.accountId,
    authTime: found.authTime,
    amr: Array.isArray(found.amr) ? found.amr : [],
    acr: found.acr ?? null,
    sessionUid: found.sessionUid ?? null,
    grantId: found.grantId ?? null,
    jti,
  };
}
