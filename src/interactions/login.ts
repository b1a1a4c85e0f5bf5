import type { Middleware } from 'koa';
import type { InteractionDeps } from './deps.ts';
import { noteForLog } from '../http/request-context.ts';
import { renderLoginPage } from './login-page.ts';
import { requestContext } from './request.ts';
import { RateLimitedError, waitText } from '../security/rate-limits.ts';
import { interactionStep, renderStep } from './step.ts';
import { continueSignIn } from './after-first-factor.ts';

/** POST /interaction/:uid/login: checks the password, then finishes the login prompt or asks for a second factor. */
export function submitLogin(deps: InteractionDeps): Middleware {
  const { signIn, logger } = deps;
  return async (ctx) => {
    const step = await interactionStep(deps, ctx, { prompt: 'login' });
    const t = deps.pages.t(ctx);
    const email = (step.fields.email ?? '').trim();
    const password = step.fields.password ?? '';
    if (!email || !password) {
      ctx.status = 400;
      renderLoginPage(ctx, deps, step, { email, error: t('login.missing'), errorField: email ? 'password' : 'email' });
      return;
    }
    const result = await signIn.signIn(email, password, requestContext(ctx));
    if (!result.ok) {
      logger.info({ id: ctx.state.requestId, uid: step.uid, reason: result.reason }, 'login failed');
      if (result.reason === 'rate_limited') {
        throw new RateLimitedError(`Too many failed sign-ins from your network. Try again in ${waitText(result.retryAfterSeconds)}.`, result.retryAfterSeconds);
      }
      if (result.reason === 'email_unverified') {
        // The password was right, so saying why is safe; the way on is the link in the mail.
        ctx.status = 403;
        renderStep(ctx, deps, step, 'verify-required', { email: result.account.email });
        return;
      }
      ctx.status = 400;
      // One message for a wrong password, an unknown email, a disabled or locked account (no enumeration).
      renderLoginPage(ctx, deps, step, { email, error: t('login.invalid') });
      return;
    }
    noteForLog(ctx, { accountId: result.account.id });
    // The password step has just looked: an account without a factor needs no second look.
    await continueSignIn(ctx, deps, step.details, result.account.id, ['pwd'], result.secondFactor === false ? { noFactor: true } : {});
  };
}
