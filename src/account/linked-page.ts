import type { Context, Middleware } from 'koa';
import type { AccountConsoleDeps } from './deps.ts';
import { isFresh } from './console-session.ts';
import { visitOf } from './guard.ts';
import { dateFormat, renderConsole } from './render.ts';

export const LINKED_PAGE = '/account/linked';

/** What the page can say was just done (`?done=`): only these, so a link cannot put words on it. */
const DONE = new Set(['linked', 'already', 'unlinked']);

/**
 * The linked-accounts page, with `problem` (a refused or failed link, in words) and its status
 * when it answers one.
 */
export async function renderLinked(ctx: Context, deps: AccountConsoleDeps, problem: { status: number; text: string } | null = null): Promise<void> {
  const { account, session } = visitOf(ctx);
  const t = deps.pages.t(ctx);
  const date = dateFormat(deps, ctx);
  const identities = await deps.accountLinks.list(account.id);
  const linked = new Set(identities.map((identity) => identity.upstreamId));
  const done = typeof ctx.query.done === 'string' && DONE.has(ctx.query.done) && !problem ? ctx.query.done : null;
  if (problem) ctx.status = problem.status;
  renderConsole(ctx, deps, 'linked', 'account.linked.title', {
    identities: identities.map((identity) => ({
      upstreamId: identity.upstreamId,
      name: deps.upstreams.get(identity.upstreamId)?.displayName ?? identity.upstreamId,
      email: identity.email,
      linked: date(identity.createdAt),
      lastUsed: date(identity.lastUsedAt),
      signsIn: identity.signsIn,
    })),
    available: [...deps.upstreams.values()].filter((upstream) => !linked.has(upstream.id)).map((upstream) => ({ id: upstream.id, kind: upstream.kind, name: upstream.displayName })),
    fresh: isFresh(session, deps.clock, deps.config.account.reauthSeconds),
    reauthMinutes: Math.max(1, Math.round(deps.config.account.reauthSeconds / 60)),
    notice: done ? t(`account.linked.done.${done}`) : null,
    problem: problem?.text ?? null,
    // A page answering a POST or a callback reopens the plain page when the language changes.
    switchUrl: LINKED_PAGE,
  });
}

/**
 * GET /account/linked: the upstream accounts (Google, GitHub, OIDC) that sign in to this one,
 * with the upstream's email, when each was linked and last used, a way to unlink each, and a
 * button for each configured upstream not linked yet.
 */
export function showLinked(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    await renderLinked(ctx, deps);
  };
}
