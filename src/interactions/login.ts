import type { Middleware } from 'koa';
import { AppError } from '../errors.ts';
import type { InteractionDeps } from './deps.ts';
import { noteForLog } from '../http/request-context.ts';
import { formFields, requireCsrf } from './form.ts';
import { loginPage } from './login-page.ts';
import { requestContext } from './request.ts';
import { RateLimitedError, waitText } from '../security/rate-limits.ts';

// One message for a wrong password, an unknown email, a disabled or locked account (no enumeration).
const INVALID_CREDENTIALS = 'Incorrect email or password.';

/** POST /interaction/:uid/login: checks the password and finishes the login prompt. */
export function submitLogin(deps: InteractionDeps): Middleware {
  const { provider, signIn, csrf, logger, renderPage } = deps;
  return async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    noteForLog(ctx, { clientId: String(details.params.client_id) });
    if (details.prompt.name !== 'login') throw new AppError('interaction.wrong_step', 'This sign-in step is already complete. Go back and continue.');
    const fields = formFields(ctx);
    requireCsrf(csrf, details.uid, fields);

    const email = (fields.email ?? '').trim();
    const password = fields.password ?? '';
    if (!email || !password) {
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = await loginPage(deps, details, { email, error: 'Enter your email and password.' });
      return;
    }
    const result = await signIn.signIn(email, password, requestContext(ctx));
    if (!result.ok) {
      logger.info({ id: ctx.state.requestId, uid: details.uid, reason: result.reason }, 'login failed');
      if (result.reason === 'rate_limited') {
        throw new RateLimitedError(`Too many failed sign-ins from your network. Try again in ${waitText(result.retryAfterSeconds)}.`, result.retryAfterSeconds);
      }
      ctx.type = 'html';
      if (result.reason === 'email_unverified') {
        // The password was right, so saying why is safe; the way on is the link in the mail.
        ctx.status = 403;
        ctx.body = renderPage('verify-required', { title: 'Verify your email address', uid: details.uid, csrf: csrf.token(details.uid), email: result.account.email });
        return;
      }
      ctx.status = 400;
      ctx.body = await loginPage(deps, details, { email, error: INVALID_CREDENTIALS });
      return;
    }
    const account = result.account;
    noteForLog(ctx, { accountId: account.id });

    const returnTo = await provider.interactionResult(ctx.req, ctx.res, {
      login: { accountId: account.id, amr: ['pwd'], remember: true },
    }, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(returnTo);
  };
}
