import type { Context, Middleware } from 'koa';
import type { PasswordChangeResult } from '../accounts/password-change.ts';
import { formFields } from '../interactions/form.ts';
import type { AccountConsoleDeps } from './deps.ts';
import { consoleChange } from './change-context.ts';
import { visitOf } from './guard.ts';
import { renderConsole } from './render.ts';

type Refusal = Extract<PasswordChangeResult, { ok: false }>;

const CURRENT_MESSAGES = { 'current.missing': 'missing_current', 'current.wrong': 'wrong_current', 'current.required': 'now_required' } as const;

function render(ctx: Context, deps: AccountConsoleDeps, options: { hasPassword: boolean; refusal: Refusal | null; signOutOthers: boolean }): void {
  const t = deps.pages.t(ctx);
  const { refusal } = options;
  let problem: string | null = null;
  if (refusal?.field === 'current') problem = t(`account.profile.password.${CURRENT_MESSAGES[refusal.code]}`);
  else if (refusal) problem = t(`problems.${refusal.code}`, refusal.params ?? {});
  if (refusal) ctx.status = refusal.code === 'current.required' ? 409 : 400;
  renderConsole(ctx, deps, 'password', options.hasPassword ? 'account.profile.password.title_change' : 'account.profile.password.title_set', {
    email: visitOf(ctx).account.email,
    hasPassword: options.hasPassword,
    problem,
    problemField: refusal?.field ?? null,
    signOutOthers: options.signOutOthers,
    minLength: deps.accounts.passwordPolicy.minLength,
    switchUrl: '/account/password',
  });
}

/** GET /account/password: change the password with the current one, or set a first one (after a recent sign-in). */
export function showPasswordChange(deps: AccountConsoleDeps): Middleware {
  // Signing the other devices out is offered ticked: whoever changes a password usually wants the old one to stop working everywhere.
  return async (ctx) => render(ctx, deps, { hasPassword: Boolean(visitOf(ctx).account.passwordHash), refusal: null, signOutOthers: true });
}

/** POST /account/password: the change, then back to the profile with a notice; a refusal shows the form again. */
export function changePassword(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    const form = formFields(ctx);
    const { account, session } = visitOf(ctx);
    const signOutOthers = form.sign_out_others === 'yes';
    const result = await deps.settings.password.change(account.id, {
      current: form.current, password: form.password ?? '', signOutOthers, keepSessionUid: session.sessionUid,
    }, consoleChange(ctx, deps));
    if (!result.ok) {
      // `current.required`: a password was set meanwhile, so the form now asks for it.
      return render(ctx, deps, { hasPassword: Boolean(account.passwordHash) || result.code === 'current.required', refusal: result, signOutOthers });
    }
    ctx.status = 303;
    ctx.redirect(`/account/profile?done=${result.set ? 'password_set' : 'password_changed'}`);
  };
}
