import type { Context, Middleware } from 'koa';
import type { AccountPageDeps } from './deps.ts';
import { formFields } from '../interactions/form.ts';
import { linkCsrf, linkInteraction, linkToken, renderNotice, requireLinkCsrf } from './link-form.ts';
import { requestContext } from '../interactions/request.ts';
import { problemInWords } from '../interactions/field-problem.ts';

const invalid = (deps: AccountPageDeps, ctx: Context) => {
  const t = deps.pages.t(ctx);
  return renderNotice(ctx, deps, { status: 400, title: t('reset-password.invalid_title'), text: t('reset-password.invalid') });
};

function renderForm(ctx: Context, deps: AccountPageDeps, token: string, email: string, problem: { field: string; message: string } | null): void {
  const clientId = ctx.method === 'GET' ? ctx.query.client_id : formFields(ctx).client_id;
  deps.pages.render(ctx, 'reset-password', {
    token,
    csrf: linkCsrf(deps.csrf, token),
    interaction: linkInteraction(ctx),
    clientId: typeof clientId === 'string' ? clientId : '',
    // The account's address beside the new password, so a password manager saves the pair.
    email,
    minLength: deps.passwordMinLength,
    problem,
    // After a POST the switch reopens the link (a GET of the form itself).
    ...(ctx.method === 'POST' ? { switchUrl: `/account/reset-password?${new URLSearchParams({ token, interaction: linkInteraction(ctx), client_id: typeof clientId === 'string' ? clientId : '' })}` } : {}),
  });
}

/** GET /account/reset-password?token=…: the new-password form, when the link is still valid. */
export function showResetPassword(deps: AccountPageDeps): Middleware {
  return async (ctx) => {
    const token = linkToken(ctx);
    const email = await deps.selfService.linkEmail(token, 'reset_password');
    if (email === null) return invalid(deps, ctx);
    renderForm(ctx, deps, token, email, null);
  };
}

/** POST /account/reset-password: sets the password, then every session and token of the account ends. */
export function submitResetPassword(deps: AccountPageDeps): Middleware {
  return async (ctx) => {
    const token = linkToken(ctx);
    requireLinkCsrf(deps.csrf, ctx, token);
    const result = await deps.selfService.resetPassword(token, formFields(ctx).password ?? '', requestContext(ctx));
    if (!result.ok && result.field === 'link') return invalid(deps, ctx);
    if (!result.ok) {
      ctx.status = 400;
      const email = (await deps.selfService.linkEmail(token, 'reset_password')) ?? '';
      renderForm(ctx, deps, token, email, problemInWords(deps.pages.t(ctx), result));
      return;
    }
    const t = deps.pages.t(ctx);
    await renderNotice(ctx, deps, { title: t('reset-password.done_title'), text: t('reset-password.done') });
  };
}
