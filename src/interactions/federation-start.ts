import type { Context, Middleware } from 'koa';
import * as client from 'openid-client';
import { AppError } from '../errors.ts';
import { UpstreamError, type Upstream } from '../federation/upstream.ts';
import type { InteractionDeps } from './deps.ts';
import { interactionStep } from './step.ts';
import { renderFederationFailure } from './federation-failure.ts';

/** The redirect URI registered at every upstream: one fixed URL per upstream id. */
export const upstreamRedirectUri = (issuer: string, upstreamId: string): string => `${issuer}/federation/${upstreamId}/callback`;

/** What an upstream sign-in is checked against at its callback: state, a PKCE verifier, and a nonce where the upstream takes one. */
export const upstreamChecks = (upstream: Pick<Upstream, 'usesNonce'>, state: string) => ({
  state,
  codeVerifier: client.randomPKCECodeVerifier(),
  nonce: upstream.usesNonce ? client.randomNonce() : undefined,
});

export function requireUpstream(deps: InteractionDeps, ctx: Context): Upstream {
  const upstream = deps.upstreams.get(String(ctx.params.upstream));
  if (!upstream) throw new AppError('federation.unknown_upstream', `no upstream ${String(ctx.params.upstream).slice(0, 64)} is configured`);
  return upstream;
}

/** Seconds until the interaction expires; everything stored for it expires with it. */
export const secondsLeft = (details: { exp: number }): number => Math.max(1, details.exp - Math.floor(Date.now() / 1000));

/**
 * POST /interaction/:uid/federation/:upstream: a login-page button. Makes state, nonce and a PKCE
 * verifier for this interaction, keeps them server-side, and sends the browser to the upstream.
 * The state starts with the interaction uid so the callback can find its way back here.
 */
export function startFederation(deps: InteractionDeps): Middleware {
  return async (ctx) => {
    const { details } = await interactionStep(deps, ctx, { prompt: 'login' });
    const upstream = requireUpstream(deps, ctx);

    const checks = upstreamChecks(upstream, `${details.uid}.${client.randomState()}`);
    let url: URL;
    try {
      url = await upstream.authorizationUrl(upstreamRedirectUri(deps.issuer, upstream.id), checks);
    } catch (error) {
      if (!(error instanceof UpstreamError)) throw error;
      renderFederationFailure(ctx, deps, { reason: error.reason, upstream, uid: details.uid, detail: error.message });
      return;
    }
    await deps.federation.saveAttempt({ uid: details.uid, upstreamId: upstream.id, checks }, secondsLeft(details));
    deps.logger.info({ event: 'federation.started', upstream: upstream.id, uid: details.uid, id: ctx.state.requestId }, 'redirecting to upstream');
    ctx.status = 303;
    ctx.redirect(url.href);
  };
}
