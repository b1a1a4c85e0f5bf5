import type { Middleware } from 'koa';
import { noteForLog } from './request-context.ts';
import { classifyError, describeInEnglish, renderErrorPage, type ErrorAction, type ErrorView } from './error-view.ts';
import type { Logger } from '../log.ts';
import type { Pages } from '../pages/render.ts';

/**
 * Renders errors from our own routes: a page for browsers, JSON for API callers, both from the
 * error table (src/error-codes.ts). Only client errors show their detail; anything else is
 * logged with the request id and shown generically. `recover` may turn an error into something
 * better than a page (an expired sign-in restarts at the application: src/interactions/restart.ts).
 */
export function errorHandler(
  logger: Logger,
  pages: Pages,
  options: { adminPrefix?: string; recover?: (ctx: Parameters<Middleware>[0], view: ErrorView) => Promise<ErrorAction | 'handled' | null> } = {},
): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (thrown) {
      const view = classifyError(thrown);
      if (view.unexpected) logger.error({ err: thrown, id: ctx.state.requestId }, 'unhandled error');
      if (view.code === 'temporarily_unavailable') {
        const cause = (thrown as { cause?: Error }).cause;
        logger.warn({ id: ctx.state.requestId, dependency: (thrown as { dependency?: string }).dependency, err: cause?.message }, 'dependency unavailable');
      }
      if (view.retryAfterSeconds !== undefined) ctx.set('retry-after', String(view.retryAfterSeconds));
      ctx.status = view.status;
      noteForLog(ctx, { error: view.code, errorDescription: view.status < 500 ? view.detail?.slice(0, 200) : undefined });
      const wantsHtml = /text\/html/i.test(ctx.get('accept'));
      if (options.adminPrefix && ctx.path.startsWith(`${options.adminPrefix}/`) && view.oauthError) {
        // Refused before the admin router: answered in the admin API's own shape (src/admin/errors.ts).
        ctx.body = { error: view.code, message: describeInEnglish(pages, view) };
      } else if (view.oauthError ? !wantsHtml : ctx.accepts('html', 'json') === 'json') {
        // Refused at the edge, any kind of caller: anyone but a browser gets the OAuth error JSON
        // oidc-provider would send; our own routes' API callers get the dotted code.
        ctx.body = { error: view.oauthError ?? view.code, error_description: describeInEnglish(pages, view) };
      } else {
        const recovered = options.recover ? await options.recover(ctx, view).catch(() => null) : null;
        if (recovered === 'handled') return;
        renderErrorPage(pages, ctx, view, { action: recovered });
      }
    }
  };
}
