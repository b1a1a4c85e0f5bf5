import type { Context, Middleware } from 'koa';
import { exactDuration } from '../i18n/durations.ts';
import { formFields } from '../interactions/form.ts';
import type { AccountConsoleDeps } from './deps.ts';
import { consoleChange } from './change-context.ts';
import { visitOf } from './guard.ts';
import { renderConsole } from './render.ts';

function render(ctx: Context, deps: AccountConsoleDeps, typed: string, problem: string | null): void {
  if (problem) ctx.status = 400;
  renderConsole(ctx, deps, 'email', 'account.profile.email.title', { email: visitOf(ctx).account.email, typed, problem, switchUrl: '/account/email' });
}

/** GET /account/email: the new address to type (after a recent sign-in). */
export function showEmailChange(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => render(ctx, deps, '', null);
}

/**
 * POST /account/email: mails a link to the new address, and answers "check your new inbox"
 * whether or not another account has that address (src/accounts/email-change.ts).
 */
export function requestEmailChange(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    const typed = (formFields(ctx).email ?? '').slice(0, 320);
    const { account } = visitOf(ctx);
    const result = await deps.settings.email.request(account.id, typed, consoleChange(ctx, deps));
    if (!result.ok) return render(ctx, deps, typed, deps.pages.t(ctx)(`account.profile.email.problems.${result.code}`));
    renderConsole(ctx, deps, 'email-sent', 'account.profile.email.sent_title', {
      email: account.email, sentTo: result.email, expiresIn: exactDuration(deps.pages.locale(ctx), deps.settings.email.linkTtlSeconds), switchUrl: '/account/profile',
    });
  };
}
