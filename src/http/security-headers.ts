import helmet from 'koa-helmet';
import type { Context, Middleware } from 'koa';

/**
 * Strict headers on every response. Pages load only our own stylesheet and images; nothing may
 * frame us (clickjacking on the login and consent pages). `script-src 'self'` is kept as an
 * explicit directive so oidc-provider can add the hash of its form_post auto-submit script.
 * No form-action: Chromium applies it to the redirect chain after a post, which ends at the
 * relying party's redirect URI.
 */
export function securityHeaders(options: { https: boolean; api?: (ctx: Context) => boolean }): Middleware {
  const pages = helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        // Logos: the brand's, and each application's logo_uri (any https host, as its owner registered it).
        imgSrc: ["'self'", 'data:', 'https:'],
        // views/passkey.js fetches the WebAuthn options and posts the result, same origin only.
        connectSrc: ["'self'"],
        baseUri: ["'none'"],
        frameAncestors: ["'none'"],
        ...(options.https ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    crossOriginEmbedderPolicy: false,
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
    strictTransportSecurity: options.https ? { maxAge: 31_536_000, includeSubDomains: true } : false,
  }) as Middleware;
  const isApi = options.api;
  if (!isApi) return pages;
  // JSON endpoints (token, introspection, userinfo, JWKS, discovery) render nothing a browser
  // could frame, run or embed, so most of helmet's page headers say nothing there. What still
  // matters for an API (OWASP REST Security Cheat Sheet) is set from one prepared list.
  const apiHeaders: Array<[string, string]> = [
    ['content-security-policy', "default-src 'none'; frame-ancestors 'none'"],
    ['x-content-type-options', 'nosniff'],
    ['x-frame-options', 'DENY'],
    ['referrer-policy', 'no-referrer'],
    ...(options.https ? [['strict-transport-security', 'max-age=31536000; includeSubDomains'] as [string, string]] : []),
  ];
  return (ctx, next) => {
    if (!isApi(ctx)) return pages(ctx, next);
    for (const [name, value] of apiHeaders) ctx.res.setHeader(name, value);
    return next();
  };
}
