import type { Middleware } from 'koa';
import type { AccountConsoleDeps } from './deps.ts';
import { isFresh } from './console-session.ts';
import { visitOf } from './guard.ts';
import { renderConsole } from './render.ts';

/** GET /account/data: what is held about the account, the download, and the way to delete it. */
export function showData(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    const { account, session } = visitOf(ctx);
    renderConsole(ctx, deps, 'data', 'account.data.title', {
      email: account.email,
      fresh: isFresh(session, deps.clock, deps.config.account.reauthSeconds),
      reauthMinutes: Math.max(1, Math.round(deps.config.account.reauthSeconds / 60)),
    });
  };
}
