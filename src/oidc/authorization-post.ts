import type { Context, Middleware, Next } from 'koa';
import { bodyParser } from '@koa/bodyparser';
import { AppError } from '../errors.ts';

/**
 * POST at the authorization endpoint (OIDC Core §3.1.2.1: "MUST support the use of the HTTP GET
 * and POST methods"), with the parameters form-encoded in the body.
 *
 * oidc-provider can serve POST itself (enableHttpPostMethods), but only with its session cookie
 * set SameSite=None: a form posted from the relying party's site is a cross-site POST, which
 * carries no Lax cookie, so the person would look signed out. Answering 303 See Other with the
 * same parameters in the query turns it into the top-level GET navigation that Lax cookies
 * do accompany, so a POST behaves exactly like the GET: same session, same checks, same errors.
 * Parameters too long for a request line (a large `request` object) are instead handed to the
 * GET handler in place; that request then carries no Lax cookie, like any cross-site POST.
 */

// Browsers and Node take request lines well beyond this; the redirect stays far below Node's
// 16 KiB header limit.
const MAX_REDIRECT_QUERY = 8 * 1024;

export function authorizationPost(options: { path: string; runProvider: (ctx: Context) => Promise<unknown> }): Middleware {
  const parseForm = bodyParser({ enableTypes: ['form'], formLimit: '56kb' }) as Middleware;
  return async (ctx: Context, next: Next) => {
    if (ctx.method !== 'POST' || ctx.path !== options.path) return next();
    // OIDC Core §3.1.2.1 names form serialization for POST; oidc-provider has no POST route of
    // its own here, so anything else would end in a bare 404.
    if (!ctx.is('application/x-www-form-urlencoded')) {
      throw new AppError('request.unsupported_media_type', 'POST /auth takes its parameters form-encoded (application/x-www-form-urlencoded); or use GET.');
    }
    await parseForm(ctx, async () => undefined);
    const query = new URLSearchParams();
    for (const [name, value] of Object.entries((ctx.request.body ?? {}) as Record<string, unknown>)) {
      // A repeated parameter stays repeated, so oidc-provider refuses it exactly as on GET.
      for (const item of Array.isArray(value) ? value : [value]) {
        if (typeof item === 'string') query.append(name, item);
      }
    }
    const search = query.toString();
    if (search.length <= MAX_REDIRECT_QUERY) {
      ctx.status = 303;
      ctx.set('cache-control', 'no-store');
      ctx.redirect(`${options.path}?${search}`);
      return;
    }
    ctx.method = 'GET';
    ctx.querystring = search;
    return options.runProvider(ctx);
  };
}
