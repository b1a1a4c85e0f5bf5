import type { Context, Middleware } from 'koa';
import { AppError } from '../errors.ts';
import { UpstreamError, type Upstream } from '../federation/upstream.ts';
import { newConsoleLinkState } from '../federation/console-link-state.ts';
import { upstreamChecks, upstreamRedirectUri } from '../interactions/federation-start.ts';
import type { AccountConsoleDeps } from './deps.ts';
import { browserId } from './cookies.ts';
import { visitOf } from './guard.ts';
import { linkAttempts } from './link-attempt.ts';
import { renderLinkFailure } from './link-failure.ts';

/** The configured upstream `:upstream`, else the same 404 as the sign-in's. */
export function upstreamOf(ctx: Context, deps: AccountConsoleDeps): Upstream {
  const upstream = deps.upstreams.get(String(ctx.params.upstream));
  if (!upstream) throw new AppError('federation.unknown_upstream', `no upstream ${String(ctx.params.upstream).slice(0, 64)} is configured`);
  return upstream;
}

/**
 * POST /account/linked/:upstream/link: the "Link" button. As the sign-in does, a state, a nonce
 * and a PKCE verifier are made and kept server-side, here bound to this console session and this
 * browser, and the browser goes to the upstream with the one redirect URI registered there; the
 * relay on it sends the answer on to the console (src/federation/console-link-state.ts).
 */
export function startLink(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    const upstream = upstreamOf(ctx, deps);
    const { account, session } = visitOf(ctx);
    // A page from before the account got one there: one account per upstream (and it would be refused at the end).
    if ((await deps.accountLinks.list(account.id)).some((identity) => identity.upstreamId === upstream.id)) {
      return renderLinkFailure(ctx, deps, upstream, 'upstream_taken', 'the account already has an identity at this upstream');
    }
    const checks = upstreamChecks(upstream, newConsoleLinkState());
    let url: URL;
    try {
      url = await upstream.authorizationUrl(upstreamRedirectUri(deps.issuer, upstream.id), checks);
    } catch (error) {
      if (!(error instanceof UpstreamError)) throw error;
      return renderLinkFailure(ctx, deps, upstream, error.reason, error.message);
    }
    await linkAttempts(deps.attempts).save({ upstreamId: upstream.id, accountId: account.id, sessionId: session.id, browser: browserId(ctx, deps.issuer), checks });
    deps.logger.info({ event: 'federation.link_started', upstream: upstream.id, accountId: account.id, id: ctx.state.requestId }, 'linking an upstream account from the console');
    ctx.status = 303;
    ctx.redirect(url.href);
  };
}
