import type { Middleware } from 'koa';
import type { AccountPageDeps } from './deps.ts';
import { formFields } from '../interactions/form.ts';
import { linkCsrf, linkToken, renderNotice, requireLinkCsrf } from './link-form.ts';
import { requestContext } from '../interactions/request.ts';

const invalid = { status: 400, title: 'This reset link has expired or was already used', text: 'Ask for a new one: choose “Forgot password?” on the sign-in page.' };

/** GET /account/reset-password?token=…: the new-password form, when the link is still valid. */
export function showResetPassword({ selfService, csrf, renderPage, passwordMinLength }: AccountPageDeps): Middleware {
  return async (ctx) => {
    const token = linkToken(ctx);
    if (!(await selfService.isValidLink(token, 'reset_password'))) return renderNotice(ctx, renderPage, invalid);
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = renderPage('reset-password', { title: 'Choose a new password', token, csrf: linkCsrf(csrf, token), minLength: passwordMinLength, problem: null });
  };
}

/** POST /account/reset-password: sets the password, then every session and token of the account ends. */
export function submitResetPassword({ selfService, csrf, renderPage, passwordMinLength }: AccountPageDeps): Middleware {
  return async (ctx) => {
    const token = linkToken(ctx);
    requireLinkCsrf(csrf, ctx, token);
    const result = await selfService.resetPassword(token, formFields(ctx).password ?? '', requestContext(ctx));
    if (!result.ok && result.field === 'link') return renderNotice(ctx, renderPage, invalid);
    if (!result.ok) {
      ctx.status = 400;
      ctx.type = 'html';
      ctx.set('cache-control', 'no-store');
      ctx.body = renderPage('reset-password', { title: 'Choose a new password', token, csrf: linkCsrf(csrf, token), minLength: passwordMinLength, problem: result });
      return;
    }
    renderNotice(ctx, renderPage, {
      title: 'Your password has been changed',
      text: 'You were signed out everywhere. Return to the application you were using and sign in with your new password.',
    });
  };
}
