import type { Context, Middleware } from 'koa';
import { jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { AdminActor, AdminScope } from './route.ts';
import type { AccountService } from '../accounts/service.ts';
import { DpopProofError, type DpopProofChecker } from '../http/dpop-proof.ts';

export class AdminAuthError extends Error {
  readonly status: 401 | 403;
  readonly code: string;
  /** Extra challenge parameters (RFC 9470's `max_age`, RFC 9449's `algs`), appended to WWW-Authenticate. */
  readonly challenge: string | null;
  /** The authentication scheme of the challenge: DPoP for a DPoP-bound token (RFC 9449 §7.1). */
  readonly scheme: 'Bearer' | 'DPoP';
  constructor(status: 401 | 403, code: string, message: string, challenge: string | null = null, scheme: 'Bearer' | 'DPoP' = 'Bearer') {
    super(message);
    this.status = status;
    this.code = code;
    this.challenge = challenge;
    this.scheme = scheme;
  }
}

/** The access token of `Authorization: Bearer <token>` (RFC 6750 §2.1) or `DPoP <token>` (RFC 9449 §7.1). */
export interface PresentedToken {
  scheme: 'Bearer' | 'DPoP';
  token: string;
}

export function presentedToken(ctx: Context, api: string): PresentedToken {
  // Auth schemes are case-insensitive (RFC 9110 §11.1).
  const match = /^(Bearer|DPoP) ([A-Za-z0-9._~+/-]+=*)$/i.exec(ctx.get('authorization'));
  if (!match) throw new AdminAuthError(401, 'unauthorized', `Send an access token for the ${api}: Authorization: Bearer <token> (or DPoP <token> with a DPoP proof).`);
  return { scheme: match[1]!.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer', token: match[2]! };
}

/**
 * A token bound to a DPoP key (cnf.jkt, RFC 9449 §6) is good only as `DPoP <token>` with a proof
 * of that key for this very request; used as a Bearer token it is refused (§7.2), or anyone who
 * saw it could use it. An unbound token is good only as Bearer. The proof's htu is checked
 * against the URL the public called: the issuer's origin and path before ours, as the resource
 * indicators <issuer>/admin/api/v1 and <issuer>/account/api name them, whatever proxy is between.
 */
export async function checkSenderConstraint(ctx: Context, presented: PresentedToken, payload: JWTPayload, options: { issuer: string; dpopProofs: DpopProofChecker }): Promise<void> {
  const jkt = (payload.cnf as { jkt?: unknown } | undefined)?.jkt;
  const algs = `algs="${options.dpopProofs.algorithms.join(' ')}"`;
  if (typeof jkt !== 'string') {
    if (presented.scheme === 'DPoP') throw new AdminAuthError(401, 'invalid_token', 'This access token is not bound to a DPoP key: send it as Authorization: Bearer <token>.');
    return;
  }
  if (presented.scheme !== 'DPoP') {
    throw new AdminAuthError(401, 'invalid_token', 'This access token is bound to a DPoP key: send it as Authorization: DPoP <token>, with a DPoP proof (RFC 9449).', algs, 'DPoP');
  }
  try {
    await options.dpopProofs.check({
      proofs: ctx.req.headersDistinct.dpop ?? [],
      method: ctx.method,
      url: `${options.issuer.replace(/\/$/, '')}${ctx.path}`,
      accessToken: presented.token,
      jkt,
    });
  } catch (error) {
    if (error instanceof DpopProofError) throw new AdminAuthError(401, 'invalid_dpop_proof', `The DPoP proof was refused: ${error.message}.`, algs, 'DPoP');
    throw error;
  }
}

/**
 * Access tokens for the admin API: JWTs this provider issued for its own admin resource
 * (RFC 9068: typ at+jwt, iss, aud, exp), verified locally against our signing keys, as Bearer
 * tokens or, when bound to a key, with DPoP proofs (checkSenderConstraint). A person's token also
 * stops working as soon as the account is disabled or deleted.
 */
export function createAdminAuthenticator(options: { issuer: string; audience: string; verificationKeys: JWTVerifyGetKey; accounts: AccountService; dpopProofs: DpopProofChecker }) {
  // The published keys of the moment (src/oidc/keys/key-ring.ts): a token signed before a rotation verifies until it expires.
  const keys = options.verificationKeys;
  return async (ctx: Context): Promise<AdminActor> => {
    const presented = presentedToken(ctx, 'admin API');
    let payload;
    try {
      ({ payload } = await jwtVerify(presented.token, keys, { issuer: options.issuer, audience: options.audience, typ: 'at+jwt', algorithms: ['RS256', 'ES256'] }));
    } catch {
      throw new AdminAuthError(401, 'invalid_token', 'The access token is invalid, expired, or not for the admin API.');
    }
    await checkSenderConstraint(ctx, presented, payload, options);
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
        ? `${error.scheme} error="${error.code}", ${error.challenge}`
        : error.status === 401 ? `Bearer error="${error.code === 'unauthorized' ? 'invalid_request' : 'invalid_token'}"` : `Bearer error="insufficient_scope", scope="${error.message.match(/(?:admin|account):\w+/)?.[0] ?? ''}"`;
      ctx.set('www-authenticate', challenge);
      ctx.body = { error: error.code, message: error.message };
    }
  };
}
