import type { Context, Middleware } from 'koa';
import { AppError } from '../errors.ts';
import type { InteractionDeps } from './deps.ts';
import { stepContext } from './request.ts';
import { renderCheckEmail } from './check-email.ts';
import { interactionStep, renderStep, type Step } from './step.ts';
import { secondsLeft } from './federation-start.ts';
import { problemInWords } from './field-problem.ts';

function requireRegistration(deps: InteractionDeps): void {
  if (!deps.registrationEnabled) throw new AppError('registration.disabled', 'self-service registration is turned off');
}

function renderRegister(ctx: Context, deps: InteractionDeps, step: Step, values: { email: string; name: string }, problem: { field: string; message: string } | null): void {
  renderStep(ctx, deps, step, 'register', { minLength: deps.accounts.passwordPolicy.minLength, ...values, problem });
}

/** GET /interaction/:uid/register */
export function showRegister(deps: InteractionDeps): Middleware {
  return async (ctx) => {
    requireRegistration(deps);
    const step = await interactionStep(deps, ctx, { prompt: 'login' });
    renderRegister(ctx, deps, step, { email: '', name: '' }, null);
  };
}

/**
 * POST /interaction/:uid/register: a new email and an already registered one get the same "check
 * your email" page; what differs is the mail (a verification link, or a note to the owner). An
 * account this request created is remembered for the sign-in, which continues as it once the
 * mailed link is used (src/interactions/show.ts).
 */
export function submitRegister(deps: InteractionDeps): Middleware {
  return async (ctx) => {
    requireRegistration(deps);
    const step = await interactionStep(deps, ctx, { prompt: 'login' });
    const values = { email: (step.fields.email ?? '').trim(), name: (step.fields.name ?? '').trim() };
    const ttl = secondsLeft(step.details);
    const result = await deps.selfService.register({ ...values, password: step.fields.password ?? '' }, stepContext(ctx, deps, step), {
      onCreated: (accountId) => deps.pendingRegistrations.save(step.uid, accountId, ttl),
    });
    if (!result.ok) {
      ctx.status = 400;
      renderRegister(ctx, deps, step, values, problemInWords(deps.pages.t(ctx), result));
      return;
    }
    renderCheckEmail(ctx, deps, step, values.email.toLowerCase(), 'registered');
  };
}

/** POST /interaction/:uid/resend: a new verification link, if the email has an unverified account. */
export function resendVerification(deps: InteractionDeps): Middleware {
  return async (ctx) => {
    const step = await interactionStep(deps, ctx, { prompt: 'login' });
    const email = (step.fields.email ?? '').trim();
    const result = await deps.selfService.resendVerification(email, stepContext(ctx, deps, step));
    if (!result.ok) throw new AppError('request.invalid_email', result.message);
    renderCheckEmail(ctx, deps, step, email.toLowerCase(), 'resent');
  };
}
