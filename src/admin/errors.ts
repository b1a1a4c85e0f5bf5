import type { Middleware } from 'koa';
import { classifyError } from '../http/error-view.ts';
import { errorCodes } from '../error-codes.ts';
import { isAppError } from '../errors.ts';
import type { Logger } from '../log.ts';

/**
 * Errors as `{ "error": "<stable code>", "message": "..." }`, status and code from the error
 * table (src/error-codes.ts); 5xx details stay in the log.
 */
export function adminErrors(logger: Logger): Middleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.status = errorCodes.not_found.status;
        ctx.body = { error: 'not_found', message: `no admin API operation ${ctx.method} ${ctx.path}` };
      }
    } catch (thrown) {
      const view = classifyError(thrown);
      ctx.status = view.status;
      if (view.retryAfterSeconds !== undefined) ctx.set('retry-after', String(view.retryAfterSeconds));
      if (view.unexpected) {
        logger.error({ err: thrown, id: ctx.state.requestId }, 'admin API error');
        ctx.body = { error: 'server_error', message: 'The server could not complete the request.' };
      } else if (view.code === 'request.invalid' && view.status === 400 && !isAppError(thrown)) {
        // The body parser's own words for malformed JSON name no field; ours are plainer.
        ctx.body = { error: view.code, message: 'The body is not valid JSON.' };
      } else {
        ctx.body = { error: view.code, message: view.detail ?? view.code };
      }
    }
  };
}
