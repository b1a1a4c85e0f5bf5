import type { Context } from 'koa';
import type { RequestContext } from '../accounts/sign-in.ts';
import type { InteractionDeps } from './deps.ts';
import type { Step } from './step.ts';

/** Who is asking, for limits and the audit log (ctx.ip honours TRUST_PROXY). */
export const requestContext = (ctx: Context): RequestContext => ({ ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined });

/** The same, with the page's language and the sign-in in progress, for requests that send mail. */
export const stepContext = (ctx: Context, deps: Pick<InteractionDeps, 'pages'>, step: Step): RequestContext => ({
  ...requestContext(ctx),
  locale: deps.pages.locale(ctx),
  interaction: { uid: step.uid, clientId: step.client.id },
});
