import type { Middleware } from 'koa';
import { describeScope } from '../interactions/scope-descriptions.ts';
import type { AccountConsoleDeps } from './deps.ts';
import { visitOf } from './guard.ts';
import { dateFormat, renderConsole } from './render.ts';

/** What the page can say was just done (`?done=`): only these, so a link cannot put words on it. */
const DONE = new Set(['scope_withdrawn', 'removed']);

/**
 * GET /account/apps: every application holding a grant of the account or a remembered consent,
 * with what it may do in words (as the consent page says it), per API the scopes granted there,
 * when it was allowed and last used; a way to withdraw each scope, and the whole application.
 */
export function showApps(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    const { account } = visitOf(ctx);
    const t = deps.pages.t(ctx);
    const date = dateFormat(deps, ctx);
    const apps = await deps.connectedApps.list(account.id);
    const done = typeof ctx.query.done === 'string' && DONE.has(ctx.query.done) ? ctx.query.done : null;
    renderConsole(ctx, deps, 'apps', 'account.apps.title', {
      apps: apps.map((app) => ({
        clientId: app.clientId,
        client: app.client,
        // `openid` is the sign-in itself: shown, but only the whole application can be withdrawn.
        scopes: app.scopes.map((scope) => ({ scope, text: describeScope(t, scope), withdrawable: scope !== 'openid' })),
        resources: app.resources,
        grantedAt: app.grantedAt ? date(app.grantedAt) : null,
        lastUsed: app.lastUsedAt ? date(app.lastUsedAt) : null,
        remembered: app.remembered,
      })),
      notice: done ? t(`account.apps.done.${done}`) : null,
    });
  };
}
