import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * CSRF tokens for the interaction forms: an HMAC of the interaction uid under a server secret.
 * oidc-provider already binds each interaction to its own cookie; the token adds the classic
 * synchroniser check (OWASP ASVS V3.5) on every POST.
 */
export function createCsrf(secret: string) {
  const sign = (uid: string): Buffer => createHmac('sha256', secret).update(`interaction:${uid}`).digest();
  return {
    token: (uid: string): string => sign(uid).toString('base64url'),
    verify(uid: string, token: unknown): boolean {
      if (typeof token !== 'string' || token.length > 64) return false;
      const given = Buffer.from(token, 'base64url');
      const expected = sign(uid);
      return given.length === expected.length && timingSafeEqual(given, expected);
    },
  };
}

export type Csrf = ReturnType<typeof createCsrf>;
