import type { Middleware } from 'koa';
import type { InteractionDeps } from './deps.ts';
import { formFields, requireCsrf } from './form.ts';

/** POST /interaction/:uid/abort: the person said no; the client receives access_denied. */
export function abortInteraction({ provider, csrf }: InteractionDeps): Middleware {
  return async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    requireCsrf(csrf, details.uid, formFields(ctx));
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, {
      error: 'access_denied',
      error_description: 'The user denied the request',
    }, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(returnTo);
  };
}
