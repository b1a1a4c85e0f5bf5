import type { Middleware } from 'koa';
import type { InteractionDeps } from './deps.ts';
import { formFields, requireCsrf } from './form.ts';
import { requestContext } from './request.ts';
import { loginStep, renderCheckEmail } from './login-step.ts';

/** GET /interaction/:uid/forgot */
export function showForgotPassword(deps: InteractionDeps): Middleware {
  return async (ctx) => {
    const details = await loginStep(deps, ctx);
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    const hint = typeof ctx.query.email === 'string' ? ctx.query.email.slice(0, 254) : '';
    ctx.body = deps.renderPage('forgot-password', { title: 'Reset your password', uid: details.uid, csrf: deps.csrf.token(details.uid), email: hint, problem: null });
  };
}

/** POST /interaction/:uid/forgot: the same page whether or not an account has the email. */
export function submitForgotPassword(deps: InteractionDeps): Middleware {
  return async (ctx) => {
    const details = await loginStep(deps, ctx);
    const fields = formFields(ctx);
    requireCsrf(deps.csrf, details.uid, fields);
    const email = (fields.email ?? '').trim();
    const result = await deps.selfService.requestReset(email, requestContext(ctx));
    if (!result.ok) {
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = deps.renderPage('forgot-password', { title: 'Reset your password', uid: details.uid, csrf: deps.csrf.token(details.uid), email, problem: result });
      return;
    }
    renderCheckEmail(ctx, deps, details.uid, email.toLowerCase(), 'reset');
  };
}
