import type { Middleware } from 'koa';
import { errors as oidcErrors } from 'oidc-provider';
import { isAppError } from '../errors.ts';
import { toUnavailable, ServiceUnavailableError } from '../http/unavailable.ts';
import type { Logger } from '../log.ts';

/** Errors as `{ "error": "<stable code>", "message": "..." }`; 5xx details stay in the log. */
export function adminErrors(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.status = 404;
        ctx.body = { error: 'not_found', message: `no admin API operation ${ctx.method} ${ctx.path}` };
      }
    } catch (thrown) {
      const error = toUnavailable(thrown);
      const http = error as { status?: number; expose?: boolean; message?: string };
      if (error instanceof ServiceUnavailableError) {
        ctx.status = 503;
        ctx.set('retry-after', '5');
        ctx.body = { error: 'temporarily_unavailable', message: error.error_description };
      } else if (isAppError(error) && error.expose) {
        ctx.status = error.status;
        ctx.body = { error: error.code, message: error.message };
      } else if (error instanceof oidcErrors.OIDCProviderError && error.expose) {
        ctx.status = error.status;
        ctx.body = { error: error.error, message: error.error_description ?? error.message };
      } else if (typeof http.status === 'number' && http.status >= 400 && http.status < 500) {
        // Raised by the body parser: malformed JSON (400), too large (413), wrong type (415).
        ctx.status = http.status;
        ctx.body = { error: 'request.invalid', message: http.status === 400 ? 'The body is not valid JSON.' : http.message ?? 'invalid request' };
      } else {
        logger.error({ err: error, id: ctx.state.requestId }, 'admin API error');
        ctx.status = 500;
        ctx.body = { error: 'server_error', message: 'The server could not complete the request.' };
      }
    }
  };
}
