import type { Context, Middleware } from 'koa';
import { createLocalJWKSet, jwtVerify, type JWK } from 'jose';
import type { AdminActor, AdminScope } from './route.ts';
import type { AccountService } from '../accounts/service.ts';

export class AdminAuthError extends Error {
  readonly status: 401 | 403;
  readonly code: string;
  /** Extra challenge parameters (RFC 9470's `max_age`), appended to WWW-Authenticate. */
  readonly challenge: string | null;
  constructor(status: 401 | 403, code: string, message: string, challenge: string | null = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.challenge = challenge;
  }
}

/**
 * Bearer access tokens for the admin API: JWTs this provider issued for its own admin resource
 * (RFC 9068: typ at+jwt, iss, aud, exp), verified locally against our signing keys. A person's
 * token also stops working as soon as the account is disabled or deleted.
 */
export function createAdminAuthenticator(options: { issuer: string; audience: string; signingKeys: JWK[]; accounts: AccountService }) {
  const publicKeys = options.signingKeys.map(({ kty, kid, alg, use, n, e, crv, x, y }) => ({ kty, kid, alg, use, n, e, crv, x, y }));
  const keys = createLocalJWKSet({ keys: publicKeys as JWK[] });
  return async (ctx: Context): Promise<AdminActor> => {
    const match = /^Bearer ([A-Za-z0-9._~+/-]+=*)$/.exec(ctx.get('authorization'));
    if (!match) throw new AdminAuthError(401, 'unauthorized', 'Send an access token for the admin API: Authorization: Bearer <token>.');
    let payload;
    try {
      ({ payload } = await jwtVerify(match[1]!, keys, { issuer: options.issuer, audience: options.audience, typ: 'at+jwt', algorithms: ['RS256', 'ES256'] }));
    } catch {
      throw new AdminAuthError(401, 'invalid_token', 'The access token is invalid, expired, or not for the admin API.');
    }
    const clientId = typeof payload.client_id === 'string' ? payload.client_id : '';
    // A person's token has sub = account id; a client-credentials token has sub = client id.
    const subject = typeof payload.sub === 'string' && payload.sub !== clientId ? payload.sub : null;
    if (subject) {
      const account = await options.accounts.findById(subject);
      if (!account || account.disabled) throw new AdminAuthError(401, 'invalid_token', 'The account this token was issued to can no longer use it.');
    }
    const scopes = new Set(typeof payload.scope === 'string' ? payload.scope.split(' ') : []);
    return { subject, clientId, scopes };
  };
}

export function requireScope(actor: AdminActor, scope: AdminScope): void {
  if (!actor.scopes.has(scope)) throw new AdminAuthError(403, 'insufficient_scope', `This operation needs the ${scope} scope.`);
}

/** Turns AdminAuthError into 401/403 with a WWW-Authenticate challenge (RFC 6750 §3). */
export function adminAuthErrors(): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      if (!(error instanceof AdminAuthError)) throw error;
      ctx.status = error.status;
      const challenge = error.challenge
        ? `Bearer error="${error.code}", ${error.challenge}`
        : error.status === 401 ? `Bearer error="${error.code === 'unauthorized' ? 'invalid_request' : 'invalid_token'}"` : `Bearer error="insufficient_scope", scope="${error.message.match(/(?:admin|account):\w+/)?.[0] ?? ''}"`;
      ctx.set('www-authenticate', challenge);
      ctx.body = { error: error.code, message: error.message };
    }
  };
}
