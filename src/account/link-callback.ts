import type { Middleware } from 'koa';
import { UpstreamError, type UpstreamProfile } from '../federation/upstream.ts';
import { isConsoleLinkState } from '../federation/console-link-state.ts';
import { upstreamRedirectUri } from '../interactions/federation-start.ts';
import type { AccountConsoleDeps } from './deps.ts';
import { readBrowserId } from './cookies.ts';
import { visitOf } from './guard.ts';
import { linkAttempts } from './link-attempt.ts';
import { renderLinkFailure } from './link-failure.ts';
import { upstreamOf } from './link-start.ts';
import { LINKED_PAGE } from './linked-page.ts';
import { selfChange } from './self-change.ts';

/**
 * GET /account/linked/:upstream/callback: the upstream's answer, relayed from its redirect URI.
 * The attempt for the state is taken once and must be this upstream's, this console session's
 * and this browser's (a link cannot be finished in someone else's session: RFC 9700 §4.7, CSRF
 * on the redirect). openid-client then checks the answer (state, PKCE, nonce, ID token) and the
 * account rules decide (src/federation/account-links.ts).
 */
export function finishLink(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    const upstream = upstreamOf(ctx, deps);
    const { session } = visitOf(ctx);
    const state = ctx.query.state;
    const attempt = isConsoleLinkState(state) ? await linkAttempts(deps.attempts).take(state) : null;
    if (!attempt || attempt.upstreamId !== upstream.id || attempt.sessionId !== session.id || attempt.accountId !== session.accountId || attempt.browser !== readBrowserId(ctx)) {
      return renderLinkFailure(ctx, deps, upstream, 'expired', attempt ? 'the link was started in another session, browser or at another upstream' : 'the state is unknown, expired or already used');
    }
    let profile: UpstreamProfile;
    try {
      profile = await upstream.profile(new URL(`${upstreamRedirectUri(deps.issuer, upstream.id)}?${ctx.querystring}`), attempt.checks);
    } catch (error) {
      if (!(error instanceof UpstreamError)) throw error;
      return renderLinkFailure(ctx, deps, upstream, error.reason, error.upstreamCode ?? error.message);
    }
    const { account, change } = selfChange(ctx);
    const outcome = await deps.accountLinks.link(account, upstream.id, profile, change);
    if (outcome.type === 'refused') return renderLinkFailure(ctx, deps, upstream, outcome.reason);
    deps.logger.info({ event: 'federation.linked', outcome: outcome.type, upstream: upstream.id, accountId: account.id, id: ctx.state.requestId }, 'upstream account linked from the console');
    ctx.status = 303;
    ctx.redirect(`${LINKED_PAGE}?done=${outcome.type === 'linked' ? 'linked' : 'already'}`);
  };
}
