import type { Middleware } from 'koa';
import type { InteractionDeps } from './deps.ts';
import { stepContext } from './request.ts';
import { renderCheckEmail } from './check-email.ts';
import { interactionStep, renderStep } from './step.ts';
import { problemInWords } from './field-problem.ts';

/** GET /interaction/:uid/forgot */
export function showForgotPassword(deps: InteractionDeps): Middleware {
  return async (ctx) => {
    const step = await interactionStep(deps, ctx, { prompt: 'login' });
    const hint = typeof ctx.query.email === 'string' ? ctx.query.email.slice(0, 254) : '';
    renderStep(ctx, deps, step, 'forgot-password', { email: hint, problem: null });
  };
}

/** POST /interaction/:uid/forgot: the same page whether or not an account has the email. */
export function submitForgotPassword(deps: InteractionDeps): Middleware {
  return async (ctx) => {
    const step = await interactionStep(deps, ctx, { prompt: 'login' });
    const email = (step.fields.email ?? '').trim();
    const result = await deps.selfService.requestReset(email, stepContext(ctx, deps, step));
    if (!result.ok) {
      ctx.status = 400;
      renderStep(ctx, deps, step, 'forgot-password', { email, problem: problemInWords(deps.pages.t(ctx), result).message });
      return;
    }
    renderCheckEmail(ctx, deps, step, email.toLowerCase(), 'reset');
  };
}
