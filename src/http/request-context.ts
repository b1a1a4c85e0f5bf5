import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../log.ts';

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
      // Only the path: query strings carry codes, tokens and state.
      logger.info({ id, method: ctx.method, path: ctx.path, status: ctx.status, ms }, 'request');
    }
  };
}
