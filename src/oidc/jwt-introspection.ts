import { jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { Adapter } from 'oidc-provider';

/**
 * Introspection (RFC 7662) of the JWT access tokens we issue for APIs.
 *
 * oidc-provider stores no record of a JWT access token and refuses to introspect one
 * (`unsupported_token_type`), yet RFC 7662 lets a resource server ask about any token it was
 * given, and "is this still good" is exactly what a JWT cannot say offline once its grant is
 * revoked. So:
 *   - at issuance, a person's JWT (one under a grant) leaves a small record keyed by its `jti`,
 *     carrying the grant id; both state adapters index records by grant and account, so revoking
 *     the grant or everything the account holds removes it with the grant's other tokens;
 *   - at introspection, oidc-provider authenticates the caller as for any token and then refuses
 *     the JWT; that refusal is replaced by our answer: active while the signature (our keys, our
 *     issuer, typ at+jwt), the expiry and, for a person's token, the record and its grant hold.
 * A client-credentials JWT has no grant: it is active while its client exists.
 * The record lives under its own model name, never AccessToken, so knowing a JWT's jti never
 * makes the jti itself usable as a bearer token.
 */

export const JWT_RECORD_MODEL = 'JwtAccessToken';

interface JwtRecord {
  grantId: string;
  accountId?: string;
  clientId: string;
}

/** Called from the JWT customizer while the token is issued. */
export async function recordJwtAccessToken(records: Adapter, token: { jti: string; grantId?: string; accountId?: string; clientId: string; exp?: number }): Promise<void> {
  if (!token.grantId) return;
  const ttl = Math.max(1, (token.exp ?? 0) - Math.floor(Date.now() / 1000));
  const record: JwtRecord & { grantId: string } = { grantId: token.grantId, clientId: token.clientId, ...(token.accountId ? { accountId: token.accountId } : {}) };
  await records.upsert(token.jti, record as never, ttl);
}

const isDpopBound = (payload: JWTPayload): boolean => typeof (payload.cnf as { jkt?: unknown } | undefined)?.jkt === 'string';

export interface JwtIntrospection {
  /** Runs oidc-provider's introspection, then answers for a JWT it refused. */
  (ctx: Context, runProvider: () => Promise<unknown>): Promise<void>;
}

export function createJwtIntrospection(deps: { provider: Provider; issuer: string; verificationKeys: JWTVerifyGetKey; records: Adapter }): JwtIntrospection {
  // Public halves of the published keys of the moment (src/oidc/keys/key-ring.ts).
  const keys = deps.verificationKeys;

  async function active(token: string, caller: { clientId: string; clientAuthMethod: string }): Promise<JWTPayload | null> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, { issuer: deps.issuer, typ: 'at+jwt' }));
    } catch {
      return null; // not ours, tampered with, or expired: inactive, as RFC 7662 §2.2 asks
    }
    const clientId = typeof payload.client_id === 'string' ? payload.client_id : null;
    if (!clientId || typeof payload.jti !== 'string') return null;
    // The same rule as for opaque tokens (src/oidc/provider.ts): a public client asks only about its own.
    if (caller.clientAuthMethod === 'none' && caller.clientId !== clientId) return null;
    if (!(await deps.provider.Client.find(clientId))) return null;
    if (payload.sub === clientId) return payload; // client credentials: no grant to hold
    const record = (await deps.records.find(payload.jti)) as JwtRecord | undefined;
    if (!record || record.clientId !== clientId) return null;
    const grant = await deps.provider.Grant.find(record.grantId);
    if (!grant || grant.clientId !== clientId || (record.accountId && grant.accountId !== record.accountId)) return null;
    return payload;
  }

  return async (ctx, runProvider) => {
    await runProvider();
    const body = ctx.body as { error?: unknown } | null | undefined;
    const oidc = (ctx as { oidc?: { client?: { clientId: string; clientAuthMethod: string }; params?: { token?: unknown } } }).oidc;
    if (ctx.status !== 400 || body?.error !== 'unsupported_token_type' || !oidc?.client || typeof oidc.params?.token !== 'string') return;
    const payload = await active(oidc.params.token, oidc.client);
    ctx.status = 200;
    // A token bound to a DPoP key (its cnf.jkt, RFC 9449 §6.1) is used with the DPoP scheme (§6.2).
    ctx.body = payload ? { ...payload, active: true, token_type: isDpopBound(payload) ? 'DPoP' : 'Bearer' } : { active: false };
  };
}
