import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../log.ts';

export interface LogFields {
  clientId?: string | undefined;
  accountId?: string | undefined;
}

export type RequestWithLogFields = { logFields?: LogFields };

/** Records the client and account a request is about, for its log line. */
export function noteForLog(ctx: { state: Record<string, unknown> }, fields: LogFields): void {
  ctx.state.log = { ...(ctx.state.log as LogFields | undefined), ...fields };
}

/** A request id (kept from a trusted proxy's X-Request-Id) and one log line per request. */
export function requestContext(logger: Logger): Middleware {
  return async (ctx, next) => {
    const header = ctx.get('x-request-id');
    const id = /^[\w.-]{1,128}$/.test(header) ? header : randomUUID();
    ctx.state.requestId = id;
    ctx.set('x-request-id', id);
    const started = performance.now();
    try {
      await next();
    } finally {
      const ms = Math.round((performance.now() - started) * 10) / 10;
      // Who, where known: set by our handlers (ctx.state) or by oidc-provider's own app, which
      // has a context of its own and can only hand them over on the shared request object.
      const known = { ...(ctx.req as RequestWithLogFields).logFields, ...(ctx.state.log as LogFields | undefined) };
      // Only the path: query strings carry codes, tokens and state.
      logger.info({ id, method: ctx.method, path: ctx.path, status: ctx.status, ms, clientId: known.clientId, accountId: known.accountId }, 'request');
    }
  };
}
