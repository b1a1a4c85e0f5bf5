import type { Context } from 'koa';
import type { Upstream, UpstreamFailure } from '../federation/upstream.ts';
import type { Refusal } from '../federation/service.ts';
import type { InteractionDeps } from './deps.ts';
import { errorCodes } from '../error-codes.ts';
import { renderErrorPage } from '../http/error-view.ts';

const upstreamFailures = new Set<FederationFailure>(['denied', 'upstream_error', 'unreachable', 'token_rejected', 'invalid_response']);

/** Failures of the flow itself, next to the upstream's and the account rules' own. */
export type FlowFailure = 'state_invalid' | 'too_many_attempts';
export type FederationFailure = UpstreamFailure | Refusal | FlowFailure;

/**
 * Renders the friendly page for a failed upstream sign-in, with a way back to the login page of
 * this interaction when there is one, and writes the audit line (no tokens, codes or state).
 */
export function renderFederationFailure(
  ctx: Context,
  { pages, logger, metrics, audit, background }: Pick<InteractionDeps, 'pages' | 'logger' | 'metrics' | 'audit' | 'background'>,
  failure: { reason: FederationFailure; upstream: Pick<Upstream, 'id' | 'displayName'> | undefined; uid?: string | undefined; upstreamCode?: string | undefined; detail?: string | undefined },
): void {
  const t = pages.t(ctx);
  const name = failure.upstream?.displayName ?? t('common.the_identity_provider');
  const code = `federation.${failure.reason}` as const;
  logger.warn({
    event: 'federation.failed',
    reason: failure.reason,
    upstream: failure.upstream?.id,
    upstreamError: failure.upstreamCode,
    detail: failure.detail,
    uid: failure.uid,
    ip: ctx.ip,
    id: ctx.state.requestId,
  }, 'upstream sign-in failed');
  metrics?.recordLogin('federated', failure.reason);
  // Our own rules said no (refused); or the upstream, the network or the answer failed (failed).
  background.run('audit federation failure', () => audit.record({
    event: upstreamFailures.has(failure.reason) ? 'federation.failed' : 'federation.refused',
    reason: failure.reason,
    ip: ctx.ip,
    userAgent: ctx.get('user-agent') || null,
    details: { upstream: failure.upstream?.id ?? null, upstreamError: failure.upstreamCode ?? null },
  }));
  // The words are the table's (errors.federation.*); the upstream's own error code goes on the
  // details line for support.
  renderErrorPage(pages, ctx, { code, status: errorCodes[code].status, key: errorCodes[code].key, detail: failure.upstreamCode ?? null, params: { name }, unexpected: false }, {
    action: failure.uid ? { href: `/interaction/${failure.uid}`, label: t('common.back_to_sign_in') } : null,
  });
}
