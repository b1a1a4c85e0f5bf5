import type { Middleware } from 'koa';
import { errors } from 'oidc-provider';
import { isAppError } from '../errors.ts';
import { RateLimitedError } from '../security/rate-limits.ts';
import { toUnavailable, ServiceUnavailableError } from './unavailable.ts';
import { RequestBytesError } from './request-bytes-error.ts';
import { noteForLog } from './request-context.ts';
import type { Logger } from '../log.ts';
import type { RenderPage } from '../pages/render.ts';

/**
 * Renders errors from our own routes: a page for browsers, JSON for API callers. Only client
 * errors show their message; anything else is logged with the request id and shown generically.
 */
export function errorHandler(logger: Logger, renderPage: RenderPage, options: { adminPrefix?: string } = {}): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (thrown) {
      const error = toUnavailable(thrown);
      let status = 500;
      let code = 'server_error';
      let message = 'The server could not complete the request. Try again later.';
      let title = 'Something went wrong';
      let json: boolean | undefined;
      if (error instanceof ServiceUnavailableError) {
        status = 503;
        code = error.error;
        title = 'Temporarily unavailable';
        message = error.error_description;
        ctx.set('retry-after', '5');
        logger.warn({ id: ctx.state.requestId, dependency: error.dependency, err: (error.cause as Error | undefined)?.message }, 'dependency unavailable');
      } else if (error instanceof errors.SessionNotFound) {
        // The interaction cookie or record is gone: it expired, was used already, or this is
        // another browser.
        status = 400;
        code = 'interaction.expired';
        title = 'This sign-in request has expired';
        message = 'Go back to the application you came from and sign in again.';
      } else if (error instanceof RequestBytesError) {
        // Refused before routing, so any kind of caller: a browser asks for text/html and gets
        // the page; anyone else the OAuth error JSON oidc-provider would send.
        ({ status, message, title } = error);
        json = !/text\/html/i.test(ctx.get('accept'));
        code = json ? error.error : error.code;
      } else if (isAppError(error) && error.expose) {
        ({ status, code, message } = error);
        if (error instanceof RateLimitedError) {
          title = 'Too many attempts';
          ctx.set('retry-after', String(error.retryAfterSeconds));
        }
      } else if (error instanceof errors.OIDCProviderError && error.expose) {
        status = error.status;
        code = error.error;
        message = error.error_description ?? error.message;
      } else if (isClientHttpError(error)) {
        // Raised by Koa middleware (body parser: 413 too large, 400 malformed, 415 type).
        status = error.status;
        code = 'request.invalid';
        message = error.message;
      } else {
        logger.error({ err: error, id: ctx.state.requestId }, 'unhandled error');
      }
      ctx.status = status;
      noteForLog(ctx, { error: code, errorDescription: status < 500 ? message.slice(0, 200) : undefined });
      if (options.adminPrefix && ctx.path.startsWith(`${options.adminPrefix}/`) && error instanceof RequestBytesError) {
        // Refused before the admin router: answered in the admin API's own shape (src/admin/errors.ts).
        ctx.body = { error: error.code, message };
      } else if (json ?? ctx.accepts('html', 'json') === 'json') {
        ctx.body = { error: code, error_description: message };
      } else {
        ctx.type = 'html';
        ctx.body = renderPage('error', { title, error: code, description: message });
      }
    }
  };
}

/** http-errors style errors (Koa, body parsers) that are the client's fault and safe to show. */
function isClientHttpError(error: unknown): error is { status: number; message: string } {
  const candidate = error as { status?: unknown; expose?: unknown } | null;
  return typeof candidate?.status === 'number' && candidate.status >= 400 && candidate.status < 500 && candidate.expose === true;
}
