import type { Middleware } from 'koa';
import { AppError } from '../errors.ts';
import type { InteractionDeps } from './deps.ts';
import { formFields, requireCsrf } from './form.ts';
import { loginPage } from './login-page.ts';

// One message for a wrong password, an unknown email and a disabled account (no enumeration).
const INVALID_CREDENTIALS = 'Incorrect email or password.';

/** POST /interaction/:uid/login: checks the password and finishes the login prompt. */
export function submitLogin(deps: InteractionDeps): Middleware {
  const { provider, accounts, csrf, logger } = deps;
  return async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.prompt.name !== 'login') throw new AppError('interaction.wrong_step', 'This sign-in step is already complete. Go back and continue.');
    const fields = formFields(ctx);
    requireCsrf(csrf, details.uid, fields);

    const email = (fields.email ?? '').trim();
    const password = fields.password ?? '';
    const account = email && password ? await accounts.authenticate(email, password) : null;
    if (!account) {
      logger.info({ id: ctx.state.requestId, uid: details.uid }, 'login failed');
      ctx.status = 400;
      ctx.type = 'html';
      ctx.body = await loginPage(deps, details, { email, error: email && password ? INVALID_CREDENTIALS : 'Enter your email and password.' });
      return;
    }

    const returnTo = await provider.interactionResult(ctx.req, ctx.res, {
      login: { accountId: account.id, amr: ['pwd'], remember: true },
    }, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(returnTo);
  };
}
