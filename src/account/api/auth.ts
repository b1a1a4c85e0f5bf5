import type { Context } from 'koa';
import { jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { Account } from '../../accounts/repository.ts';
import type { AccountService } from '../../accounts/service.ts';
import { AdminAuthError, checkSenderConstraint, presentedToken } from '../../admin/auth.ts';
import type { DpopProofChecker } from '../../http/dpop-proof.ts';

/** The person an account API call acts for, and what their token allows. */
export interface AccountCaller {
  account: Account;
  clientId: string;
  scopes: Set<string>;
  /** When the person last signed in (seconds), as the token says; null when it does not. */
  authTime: number | null;
}

/**
 * Access tokens for the account API: JWTs this provider issued for its own account resource
 * (RFC 9068: typ at+jwt, iss, aud, exp), verified locally against our signing keys; Bearer, or
 * DPoP with a proof when bound to a key (checkSenderConstraint in src/admin/auth.ts).
 * Only a person's token: a client-credentials token acts for nobody's account. A token stops
 * working when the account is disabled or gone, and when the account's sessions were revoked
 * after it was issued (a password reset, "sign out everywhere"), as refresh tokens do.
 */
export function createAccountApiAuthenticator(options: { issuer: string; audience: string; verificationKeys: JWTVerifyGetKey; accounts: AccountService; dpopProofs: DpopProofChecker }) {
  // The published keys of the moment (src/oidc/keys/key-ring.ts), as for the admin API.
  const keys = options.verificationKeys;
  return async (ctx: Context): Promise<AccountCaller> => {
    const presented = presentedToken(ctx, 'account API');
    let payload;
    try {
      ({ payload } = await jwtVerify(presented.token, keys, { issuer: options.issuer, audience: options.audience, typ: 'at+jwt', algorithms: ['RS256', 'ES256'] }));
    } catch {
      throw new AdminAuthError(401, 'invalid_token', 'The access token is invalid, expired, or not for the account API.');
    }
    await checkSenderConstraint(ctx, presented, payload, options);
    const clientId = typeof payload.client_id === 'string' ? payload.client_id : '';
    const subject = typeof payload.sub === 'string' && payload.sub !== clientId ? payload.sub : null;
    if (!subject) throw new AdminAuthError(401, 'invalid_token', 'The account API needs a person\'s access token (authorization code flow), not a client\'s.');
    const account = await options.accounts.findById(subject);
    // As findAccount judges sessions and tokens (src/oidc/find-account.ts), in whole seconds.
    const revoked = account?.sessionsValidAfter != null && (payload.iat ?? 0) < Math.floor(account.sessionsValidAfter / 1000);
    if (!account || account.disabled || revoked) throw new AdminAuthError(401, 'invalid_token', 'The account this token was issued to can no longer use it.');
    const scopes = new Set(typeof payload.scope === 'string' ? payload.scope.split(' ') : []);
    return { account, clientId, scopes, authTime: typeof payload.auth_time === 'number' ? payload.auth_time : null };
  };
}
