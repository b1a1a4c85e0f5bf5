import type { Context, Middleware } from 'koa';
import { AppError } from '../errors.ts';
import type { AccountConsoleDeps } from './deps.ts';
import { visitOf } from './guard.ts';
import { LINKED_PAGE } from './linked-page.ts';
import { renderConsole } from './render.ts';
import { selfChange } from './self-change.ts';

export const unlinkPage = (ctx: Context): string => `/account/linked/${encodeURIComponent(String(ctx.params.upstream))}/unlink`;

function render(ctx: Context, deps: AccountConsoleDeps, identity: { upstreamId: string; email: string | null }, refused: boolean): void {
  if (refused) ctx.status = 409;
  renderConsole(ctx, deps, 'linked-unlink', 'account.linked.unlink.title', {
    upstreamId: identity.upstreamId,
    name: deps.upstreams.get(identity.upstreamId)?.displayName ?? identity.upstreamId,
    email: identity.email,
    refused,
    switchUrl: unlinkPage(ctx),
  });
}

/** The account's own identity at `:upstream`; another account's, or none, is simply not found. */
async function ownIdentity(ctx: Context, deps: AccountConsoleDeps) {
  const found = await deps.accountLinks.unlinkable(visitOf(ctx).account.id, String(ctx.params.upstream));
  if (!found) throw new AppError('not_found', 'this account has no identity at that upstream');
  return found;
}

/** GET /account/linked/:upstream/unlink: what unlinking means, and the button, or why it cannot be. */
export function showUnlink(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    const { identity, allowed } = await ownIdentity(ctx, deps);
    render(ctx, deps, identity, !allowed);
  };
}

/**
 * POST /account/linked/:upstream/unlink: that upstream account no longer signs in here. Refused
 * (409) when it is the last way left to sign in (src/federation/account-links.ts says which count).
 */
export function unlink(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    const { identity } = await ownIdentity(ctx, deps);
    const { account, change } = selfChange(ctx);
    const outcome = await deps.accountLinks.unlink(account, identity.upstreamId, change);
    if (outcome === 'last_way') return render(ctx, deps, identity, true);
    // Gone already (another tab): what was asked is done.
    deps.logger.info({ event: 'federation.unlinked', outcome, upstream: identity.upstreamId, accountId: account.id, id: ctx.state.requestId }, 'upstream account unlinked from the console');
    ctx.status = 303;
    ctx.redirect(`${LINKED_PAGE}?done=unlinked`);
  };
}
