import type { Context } from 'koa';
import type { RequestContext } from '../accounts/sign-in.ts';

/** Who is asking, for limits and the audit log (ctx.ip honours TRUST_PROXY). */
export const requestContext = (ctx: Context): RequestContext => ({ ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined });
