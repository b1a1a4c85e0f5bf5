import type { Context, Middleware } from 'koa';
import { formFields } from '../interactions/form.ts';
import type { AccountConsoleDeps } from './deps.ts';
import type { ConsoleSessions } from './console-session.ts';
import { clearSessionCookie } from './cookies.ts';
import { visitOf } from './guard.ts';
import { renderConsole } from './render.ts';
import { selfChange } from './self-change.ts';

export const DELETE_PAGE = '/account/data/delete';
/** Where a deleted account's browser lands: outside the console, as there is no one to sign in. */
export const DELETED_PAGE = '/account/deleted';

function render(ctx: Context, deps: AccountConsoleDeps, form: { typed: string; problem: string | null }): void {
  if (form.problem) ctx.status = 400;
  renderConsole(ctx, deps, 'data-delete', 'account.data.delete.title', { email: visitOf(ctx).account.email, typed: form.typed, problem: form.problem, switchUrl: DELETE_PAGE });
}

/** GET /account/data/delete (after a fresh sign-in): what deleting means, and the email to type. */
export function showDeleteAccount(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    render(ctx, deps, { typed: '', problem: null });
  };
}

/**
 * POST /account/data/delete: with the account's email typed to confirm, the account is deleted
 * (src/account-data/deletion.ts): every session and token ends, then the account. This console
 * session ends with it, here and in any other browser (they find no account behind them).
 */
export function deleteAccount(deps: AccountConsoleDeps, sessions: ConsoleSessions): Middleware {
  return async (ctx) => {
    const { session } = visitOf(ctx);
    const { account } = selfChange(ctx);
    const typed = (formFields(ctx).confirmation ?? '').slice(0, 320);
    const outcome = await deps.accountDeletion.deleteOwnAccount(account, typed);
    if (outcome === 'not_confirmed') {
      return render(ctx, deps, { typed, problem: deps.pages.t(ctx)(typed.trim() ? 'account.data.delete.mismatch' : 'account.data.delete.missing') });
    }
    await sessions.end(session.id);
    clearSessionCookie(ctx, deps.issuer);
    deps.logger.info({ event: 'account.deleted', actor: 'self', accountId: account.id, ip: ctx.ip, id: ctx.state.requestId }, 'account deleted by its owner');
    ctx.status = 303;
    ctx.redirect(DELETED_PAGE);
  };
}

/** GET /account/deleted: says it is done. Nothing on it depends on who asks, so anyone may see it. */
export function showAccountDeleted(deps: Pick<AccountConsoleDeps, 'pages'>): Middleware {
  return async (ctx) => {
    deps.pages.render(ctx, 'account/data-deleted', { title: deps.pages.t(ctx)('account.data.deleted.title') });
  };
}
