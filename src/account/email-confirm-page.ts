import type { Context, Middleware } from 'koa';
import { formFields } from '../interactions/form.ts';
import type { AccountConsoleDeps } from './deps.ts';
import { consoleChange } from './change-context.ts';
import { visitOf } from './guard.ts';
import { renderConsole } from './render.ts';

/** The link's token: from the query on GET, from the form on POST; anything longer than a token is none. */
function tokenOf(ctx: Context): string {
  const value = ctx.method === 'GET' ? ctx.query.token : formFields(ctx).token;
  return typeof value === 'string' && value.length <= 64 ? value : '';
}

function invalid(ctx: Context, deps: AccountConsoleDeps): void {
  ctx.status = 400;
  renderConsole(ctx, deps, 'email-confirm', 'account.profile.email.invalid_title', { invalid: true, switchUrl: '/account/profile' });
}

/**
 * GET /account/email/confirm?token=…: the mailed link opens a page with a button, not the change
 * itself (mail scanners open links, and a GET changes nothing). Signed out, the person signs in
 * first and comes back here; a link of another account is not valid here.
 */
export function showEmailConfirm(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    const token = tokenOf(ctx);
    const { account } = visitOf(ctx);
    const pending = await deps.settings.email.pending(account.id, token);
    if (!pending) return invalid(ctx, deps);
    renderConsole(ctx, deps, 'email-confirm', 'account.profile.email.confirm_title', { invalid: false, taken: false, token, from: account.email, to: pending.email });
  };
}

/** POST /account/email/confirm: uses the link; the new address signs in from now on. */
export function confirmEmailChange(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    const result = await deps.settings.email.confirm(visitOf(ctx).account.id, tokenOf(ctx), consoleChange(ctx, deps));
    if (result.ok) {
      ctx.status = 303;
      return ctx.redirect('/account/profile?done=email_changed');
    }
    if (result.reason === 'invalid_link') return invalid(ctx, deps);
    ctx.status = 409;
    renderConsole(ctx, deps, 'email-confirm', 'account.profile.email.confirm_title', { invalid: false, taken: true, to: result.email, switchUrl: '/account/profile' });
  };
}
