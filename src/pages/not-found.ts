import type { Middleware } from 'koa';
import type { Pages } from './render.ts';

/**
 * Whatever no route answered (ours or oidc-provider's) is a 404 in our layout for browsers, and
 * the usual JSON error for everyone else.
 */
export function notFound(pages: Pages): Middleware {
  return async (ctx, next) => {
    await next();
    if (ctx.status !== 404 || ctx.body != null) return;
    if (ctx.accepts('html', 'json') === 'html' && (ctx.method === 'GET' || ctx.method === 'HEAD')) {
      pages.render(ctx, 'not-found');
      ctx.status = 404;
      return;
    }
    ctx.status = 404;
    ctx.body = { error: 'not_found', error_description: `nothing at ${ctx.method} ${ctx.path.slice(0, 200)}` };
  };
}
