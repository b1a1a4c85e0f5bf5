import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from '../log.ts';
import type { AuditLog } from '../audit/service.ts';
import type { Background } from '../background.ts';
import type { Metrics } from '../observability/metrics.ts';
import { noteForLog } from '../http/request-context.ts';

/*
 * What oidc-provider knows about a failed request, made visible: its own error handler turns a
 * thrown error into a 500 `server_error` (or a 4xx OAuth error) without logging anything, and
 * revokes a grant on a replayed code or refresh token without telling anyone.
 */

// oidc-provider's descriptions describe the request ("refresh token not found", "client
// authentication failed"), never a credential; these carry what the client sent or state a
// secret comparison, so they stay out of the log line anyway.
const QUIET_DESCRIPTIONS = /secret|password|assertion/i;
const MAX_DESCRIPTION = 200;

/** The OAuth error of a provider answer, for the request's log line (src/http/request-context.ts). */
export function noteProviderError(ctx: { status: number; body: unknown; state: Record<string, unknown> }): void {
  if (ctx.status < 400) return;
  const body = ctx.body as { error?: unknown; error_description?: unknown } | null | undefined;
  if (!body || typeof body !== 'object' || typeof body.error !== 'string') return;
  const description = typeof body.error_description === 'string' && ctx.status < 500 && !QUIET_DESCRIPTIONS.test(body.error_description)
    ? body.error_description.slice(0, MAX_DESCRIPTION) : undefined;
  noteForLog(ctx, { error: body.error, errorDescription: description });
}

interface Entities {
  Client?: { clientId?: string };
  Account?: { accountId?: string };
  RefreshToken?: { accountId?: string; grantId?: string };
  AuthorizationCode?: { accountId?: string };
}

export function watchProvider(provider: Provider, deps: { logger: Logger; audit: AuditLog; background: Background; metrics: Metrics | null }): void {
  const { logger, audit, background, metrics } = deps;

  // Every 500 from inside oidc-provider, JSON or page alike, with its stack; the response says
  // only "server_error".
  provider.on('server_error', (ctx: KoaContextWithOIDC, error: Error) => {
    logger.error({ err: error, id: ctx.state?.requestId, route: ctx.oidc?.route, clientId: ctx.oidc?.client?.clientId }, 'provider server_error');
  });

  // At the token endpoint a grant is revoked only when a used authorization code or refresh
  // token comes back (RFC 9700 §4.14.2, RFC 6749 §4.1.2): someone holds a copy.
  provider.on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
    if (ctx.oidc?.route !== 'token') return;
    const grantType = ctx.oidc.params?.grant_type;
    const token = grantType === 'refresh_token' ? 'refresh_token' : grantType === 'authorization_code' ? 'authorization_code' : String(grantType ?? 'unknown');
    const entities = (ctx.oidc.entities ?? {}) as Entities;
    const clientId = ctx.oidc.client?.clientId ?? entities.Client?.clientId ?? null;
    const accountId = entities.Account?.accountId ?? entities.RefreshToken?.accountId ?? entities.AuthorizationCode?.accountId ?? null;
    metrics?.tokenReplays.inc({ token });
    logger.warn({ id: ctx.state?.requestId, token, clientId, accountId, grantId }, 'token replay detected: grant revoked');
    background.run('audit token.replay_detected', () => audit.record({
      event: 'token.replay_detected',
      reason: `${token}_reused`,
      accountId,
      ip: ctx.ip,
      userAgent: ctx.get('user-agent') || null,
      details: { clientId, grantId, token },
    }));
  });
}
