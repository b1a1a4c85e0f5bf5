import type { Context, Middleware } from 'koa';
import type { InteractionDeps } from './deps.ts';
import { requestContext } from './request.ts';
import { finishStep, interactionStep, renderStep, type Step } from './step.ts';
import { RateLimitedError, waitText } from '../security/rate-limits.ts';

const backToLogin = (ctx: Context, uid: string) => {
  ctx.status = 303;
  ctx.redirect(`/interaction/${uid}`);
};

function renderSecondFactor(ctx: Context, deps: InteractionDeps, step: Step, problem: string | null, method: 'totp' | 'recovery'): void {
  renderStep(ctx, deps, step, 'second-factor', { problem, method });
}

/** GET /interaction/:uid/second-factor: the code after a right password (no JavaScript needed). */
export function showSecondFactor(deps: InteractionDeps): Middleware {
  return async (ctx) => {
    const step = await interactionStep(deps, ctx, { prompt: 'login' });
    if (!(await deps.pendingSecondFactors.find(step.uid))) return backToLogin(ctx, step.uid);
    renderSecondFactor(ctx, deps, step, null, ctx.query.method === 'recovery' ? 'recovery' : 'totp');
  };
}

/**
 * POST /interaction/:uid/second-factor: an authenticator-app code or a recovery code. Only an
 * interaction whose password step succeeded has a pending record; the right code takes it (once)
 * and finishes the login prompt with both methods in `amr` (RFC 8176).
 */
export function submitSecondFactor(deps: InteractionDeps): Middleware {
  return async (ctx) => {
    const step = await interactionStep(deps, ctx, { prompt: 'login' });
    const accountId = await deps.pendingSecondFactors.find(step.uid);
    const account = accountId ? await deps.accounts.findById(accountId) : null;
    if (!account) return backToLogin(ctx, step.uid);
    const method = step.fields.method === 'recovery' ? 'recovery' : 'totp';
    const result = await deps.signIn.verifySecondFactor(account, method, step.fields.code ?? '', requestContext(ctx));
    if (!result.ok) {
      if (result.reason === 'rate_limited') {
        throw new RateLimitedError(`Too many failed sign-ins from your network. Try again in ${waitText(result.retryAfterSeconds)}.`, result.retryAfterSeconds);
      }
      ctx.status = 400;
      renderSecondFactor(ctx, deps, step, deps.pages.t(ctx)(`second-factor.invalid_${method}`), method);
      return;
    }
    if ((await deps.pendingSecondFactors.take(step.uid)) !== account.id) return backToLogin(ctx, step.uid);
    await finishStep(ctx, deps, { login: { accountId: account.id, amr: ['pwd', 'otp', 'mfa'], remember: true } }, false);
  };
}
