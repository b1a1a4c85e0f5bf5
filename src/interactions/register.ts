import type { Context, Middleware } from 'koa';
import { AppError } from '../errors.ts';
import type { InteractionDeps } from './deps.ts';
import { formFields, requireCsrf } from './form.ts';
import { requestContext } from './request.ts';
import { loginStep, renderCheckEmail } from './login-step.ts';

function requireRegistration(deps: InteractionDeps): void {
  if (!deps.registrationEnabled) throw new AppError('registration.disabled', 'New accounts are created by the administrator of this service.', 404);
}

function renderRegister(ctx: Context, deps: InteractionDeps, uid: string, values: { email: string; name: string }, problem: { field: string; message: string } | null): void {
  ctx.type = 'html';
  ctx.set('cache-control', 'no-store');
  ctx.body = deps.renderPage('register', {
    title: 'Create your account',
    uid,
    csrf: deps.csrf.token(uid),
    minLength: deps.accounts.passwordPolicy.minLength,
    ...values,
    problem,
  });
}

/** GET /interaction/:uid/register */
export function showRegister(deps: InteractionDeps): Middleware {
  return async (ctx) => {
    requireRegistration(deps);
    const details = await loginStep(deps, ctx);
    renderRegister(ctx, deps, details.uid, { email: '', name: '' }, null);
  };
}

/**
 * POST /interaction/:uid/register: a new email and an already registered one get the same "check
 * your email" page; what differs is the mail (a verification link, or a note to the owner).
 */
export function submitRegister(deps: InteractionDeps): Middleware {
  return async (ctx) => {
    requireRegistration(deps);
    const details = await loginStep(deps, ctx);
    const fields = formFields(ctx);
    requireCsrf(deps.csrf, details.uid, fields);
    const values = { email: (fields.email ?? '').trim(), name: (fields.name ?? '').trim() };
    const result = await deps.selfService.register({ ...values, password: fields.password ?? '' }, requestContext(ctx));
    if (!result.ok) {
      ctx.status = 400;
      renderRegister(ctx, deps, details.uid, values, result);
      return;
    }
    renderCheckEmail(ctx, deps, details.uid, values.email.toLowerCase(), 'registered');
  };
}

/** POST /interaction/:uid/resend: a new verification link, if the email has an unverified account. */
export function resendVerification(deps: InteractionDeps): Middleware {
  return async (ctx) => {
    const details = await loginStep(deps, ctx);
    const fields = formFields(ctx);
    requireCsrf(deps.csrf, details.uid, fields);
    const email = (fields.email ?? '').trim();
    const result = await deps.selfService.resendVerification(email, requestContext(ctx));
    if (!result.ok) throw new AppError('request.invalid_email', result.message);
    renderCheckEmail(ctx, deps, details.uid, email.toLowerCase(), 'resent');
  };
}
