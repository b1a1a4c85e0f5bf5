import { readFileSync } from 'node:fs';
import Koa from 'koa';
import Router from '@koa/router';
import type { Deps } from './deps.ts';
import { securityHeaders } from './http/security-headers.ts';
import { requestContext } from './http/request-context.ts';
import { outageScope } from './http/outage-scope.ts';
import { errorHandler } from './http/error-handler.ts';
import { interactionRouter } from './interactions/routes.ts';
import { accountPageRouter } from './account-pages/routes.ts';
import { accountConsoleRouter } from './account/routes.ts';
import { ADMIN_BASE, adminRouter } from './admin/router.ts';
import { adminRoutes } from './admin/routes/index.ts';
import { createAdminAuthenticator } from './admin/auth.ts';
import { accountApiRouter } from './account/api/router.ts';
import { accountApiRoutes } from './account/api/routes.ts';
import { createAccountApiAuthenticator } from './account/api/auth.ts';
import { accountResourceIndicator } from './account/api/resource.ts';
import { viewsDir } from './pages/render.ts';
import { webauthnBrowserBundlePath } from './mfa/browser-bundle.ts';
import { themeAssets } from './pages/theme.ts';
import { ownFormPostPages } from './pages/form-post.ts';
import { notFound } from './pages/not-found.ts';
import { restartExpiredSignIn } from './interactions/restart.ts';
import { measureRequests, metricsOnMainPort, metricsRouter } from './observability/http.ts';
import { healthRouter } from './http/health.ts';
import { checkRequestBytes, replaceFormField } from './http/request-bytes.ts';
import { createRefreshGrace } from './oidc/refresh-grace.ts';
import { createJwtIntrospection } from './oidc/jwt-introspection.ts';
import { authorizationPost } from './oidc/authorization-post.ts';
import { jwksCaching } from './oidc/keys/jwks-caching.ts';
import { dropPrefetchedFind, prefetchFind } from './db/token-request-batch.ts';
import { createTokenRequest } from './oidc/token-request.ts';

/** Our routes first, then oidc-provider for everything else (discovery, /auth, /token, ...). */
export function createApp(deps: Deps): Koa {
  const app = new Koa();
  app.proxy = deps.config.trustProxy;
  app.silent = true; // errors are logged by our handler, not printed by Koa

  const assets = new Map([
    ['/assets/style.css', { type: 'text/css; charset=utf-8', body: readFileSync(`${viewsDir}style.css`, 'utf8') }],
    ['/assets/auto-submit.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(`${viewsDir}auto-submit.js`, 'utf8') }],
    // Passkey ceremonies: the library's browser bundle, and our script that drives it from forms.
    ['/assets/webauthn-browser.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(webauthnBrowserBundlePath(), 'utf8') }],
    ['/assets/passkey.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(`${viewsDir}passkey.js`, 'utf8') }],
  ]);
  const pages = new Router();
  pages.get('/', (ctx) => deps.pages.render(ctx, 'home'));
  for (const [path, asset] of assets) {
    pages.get(path, (ctx) => {
      ctx.type = asset.type;
      ctx.set('cache-control', 'public, max-age=3600');
      ctx.body = asset.body;
    });
  }
  // The provider's hot endpoints go straight to it: none of our routers below would match them,
  // and matching every route of every router on each token request is measurable.
  const providerPaths = new Set(['/token', '/token/introspection', '/token/revocation', '/me', '/jwks', '/.well-known/openid-configuration']);
  // Each request runs against the oidc-provider instance current when it arrived, even if a key
  // change builds the next one meanwhile (src/oidc/provider-holder.ts).
  app.use(deps.providers.pin);
  // First, so the request duration covers everything below, error pages included.
  if (deps.metrics) app.use(measureRequests(deps.metrics));
  app.use(requestContext(deps.logger));
  app.use(outageScope());
  app.use(securityHeaders({ https: new URL(deps.config.issuer).protocol === 'https:', api: (ctx) => providerPaths.has(ctx.path) }));
  app.use(errorHandler(deps.logger, deps.pages, { adminPrefix: ADMIN_BASE, recover: restartExpiredSignIn(deps) }));
  // Brand colours, the theme's stylesheet and its files (logo, fonts) under /assets/theme/.
  app.use(themeAssets(deps.theme));
  // oidc-provider is a Koa app of its own. Its middleware runs on our context, as koa-mount
  // would mount it, rather than through provider.callback(), which would build a second Koa
  // context for every request. Its cookie keys become ours, so the signed cookies it reads and
  // writes through ctx.cookies use them (both apps trust the proxy alike, set above).
  const provider = deps.provider;
  app.keys = provider.keys;
  const runProvider = deps.providers.run;
  // A client that has gone away (its connection closed mid-request, as a load generator's last
  // requests are) is not served: nothing can reach it, and oidc-provider would find its body
  // unreadable and fall back to the parsed copy with a console warning.
  const toProvider = async (ctx: Koa.Context) => {
    if (ctx.req.socket.destroyed) return;
    await runProvider(ctx);
  };
  // Every route, ours and the provider's: NUL, lone surrogates and invalid UTF-8 are a 400 here,
  // before any of them reaches PostgreSQL. 64 KiB is the largest body any parser below accepts
  // (the admin API's JSON). /token keeps the parsed form in ctx.request.body (the refresh grace
  // step reads and rewrites it); oidc-provider reads its own, our routers parse their own.
  app.use(checkRequestBytes({ maxBodyBytes: 64 * 1024, keepParsedBody: (ctx) => ctx.path === '/token' }));
  // Through the provider's own RefreshToken adapter, as its find will ask (token value = id).
  const refreshTokens = () => (provider.RefreshToken as unknown as { adapter: { find(id: string): Promise<unknown> } }).adapter;
  const refreshGrace = createRefreshGrace({
    rotations: deps.refreshRotations, graceSeconds: deps.config.refreshTokenGraceSeconds, logger: deps.logger, replaceFormField,
    prefetch: {
      start: (token) => prefetchFind('RefreshToken', token, () => refreshTokens().find(token)),
      drop: (token) => dropPrefetchedFind('RefreshToken', token),
    },
  });
  // A token request's storage calls go out together where they can (src/db/token-request-batch.ts).
  const tokenRequest = createTokenRequest({ provider, refreshGrace, runProvider: toProvider, logger: deps.logger });
  const introspectJwt = createJwtIntrospection({
    provider, issuer: deps.config.issuer, verificationKeys: deps.keyRing.getKey, records: deps.jwtAccessTokenRecords,
  });
  const jwks = jwksCaching(deps.config.signingKeys.prepublishSeconds);
  app.use(async (ctx, next) => {
    if (!providerPaths.has(ctx.path)) return next();
    if (ctx.path === '/token') return tokenRequest(ctx);
    if (ctx.path === '/jwks') return jwks(ctx, () => toProvider(ctx));
    if (ctx.path === '/token/introspection') return introspectJwt(ctx, () => toProvider(ctx));
    return toProvider(ctx);
  });
  app.use(authorizationPost({ path: '/auth', runProvider: toProvider }));

  // With a metrics port configured, main.ts serves /metrics there instead (see observability/http.ts).
  if (deps.metrics && metricsOnMainPort(deps.config)) app.use(metricsRouter(deps.metrics).routes());

  app.use(pages.routes());
  app.use(healthRouter(deps).routes());
  app.use(interactionRouter(deps).routes());
  app.use(accountPageRouter(deps).routes());
  // The account API before the console's pages: both live under /account.
  const accountApi = accountApiRouter({
    deps, routes: accountApiRoutes, logger: deps.logger, issuer: deps.config.issuer, reauthSeconds: deps.config.account.reauthSeconds, clock: deps.clock,
    authenticate: createAccountApiAuthenticator({ issuer: deps.config.issuer, audience: accountResourceIndicator(deps.config.issuer), verificationKeys: deps.keyRing.getKey, accounts: deps.accounts, dpopProofs: deps.dpopProofs }),
  });
  app.use(accountApi.routes());
  app.use(accountConsoleRouter(deps).routes());
  const authenticate = createAdminAuthenticator({ issuer: deps.config.issuer, audience: deps.adminResource, verificationKeys: deps.keyRing.getKey, accounts: deps.accounts, dpopProofs: deps.dpopProofs });
  const admin = adminRouter({ deps, routes: adminRoutes, authenticate, logger: deps.logger, issuer: deps.config.issuer });
  app.use(admin.routes());
  app.use(admin.allowedMethods());

  // oidc-provider's own bare pages become ours (src/pages/form-post.ts); anything nobody
  // answered is our 404 page (or JSON for API callers).
  app.use(notFound(deps.pages));
  app.use(ownFormPostPages(deps.pages, { endSessionConfirmPath: new URL(provider.urlFor('end_session_confirm')).pathname }));
  app.use(toProvider);
  return app;
}
