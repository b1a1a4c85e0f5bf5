import { createServer, type Server } from 'node:http';
import type { Middleware } from 'koa';
import Router from '@koa/router';
import type { Metrics } from './metrics.ts';
import { boundObserver } from './bound-observer.ts';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * Times every request from the first middleware until the response is finished (or the client
 * went away), in idp_http_request_duration_seconds. The route label is bounded: the pattern of
 * the route that matched in our routers (/interaction/:uid/login), oidc-provider's route name
 * (token, authorization, discovery, ...), or `other`; never the raw path.
 */
export function measureRequests(metrics: Metrics): Middleware {
  // One bound observer per label combination, kept: there are few (bounded labels), and
  // prom-client would otherwise hash the labels on every observation.
  // Nested by label rather than keyed by a joined string: no string is built per request.
  const observers = new Map<string, Map<string, Map<number | string, (seconds: number) => void>>>();
  const observerFor = (method: string, route: string, status: number | 'aborted'): ((seconds: number) => void) => {
    let byRoute = observers.get(method);
    if (!byRoute) observers.set(method, byRoute = new Map());
    let byStatus = byRoute.get(route);
    if (!byStatus) byRoute.set(route, byStatus = new Map());
    let observe = byStatus.get(status);
    if (!observe) byStatus.set(status, observe = boundObserver(metrics.httpRequestDuration, { method, route, status: String(status) }));
    return observe;
  };
  return async (ctx, next) => {
    const started = performance.now();
    // 'close' follows 'finish' on a completed response, and also fires on an aborted one.
    ctx.res.once('close', () => {
      // oidc-provider's middleware runs on this context (src/app.ts): where it handled the
      // request, ctx.oidc names its route.
      const { _matchedRoute: matched, oidc } = ctx as { _matchedRoute?: unknown; oidc?: { route?: string } };
      observerFor(
        METHODS.has(ctx.method) ? ctx.method : 'other',
        oidc?.route ?? (typeof matched === 'string' ? matched : 'other'),
        ctx.res.writableFinished ? ctx.res.statusCode : 'aborted',
      )((performance.now() - started) / 1000);
    });
    await next();
  };
}

async function exposition(metrics: Metrics): Promise<{ contentType: string; body: string }> {
  return { contentType: metrics.registry.contentType, body: await metrics.registry.metrics() };
}

/**
 * Whether the main port serves /metrics: only without a metrics port and, in production, only
 * when the operator says so (METRICS_PUBLIC=true, e.g. behind a proxy that keeps /metrics from
 * the internet): unauthenticated metrics on an internet-facing port tell anyone about traffic
 * and sign-in failures.
 */
export function metricsOnMainPort(config: { production: boolean; metrics: { enabled: boolean; port?: number | undefined; public: boolean } }): boolean {
  return config.metrics.enabled && config.metrics.port === undefined && (!config.production || config.metrics.public);
}

/** GET /metrics on the main app (when no separate metrics port is configured). */
export function metricsRouter(metrics: Metrics): Router {
  const router = new Router();
  router.get('/metrics', async (ctx) => {
    const { contentType, body } = await exposition(metrics);
    ctx.set('cache-control', 'no-store');
    ctx.type = contentType;
    ctx.body = body;
  });
  return router;
}

/**
 * The small server for a separate metrics port: GET /metrics and nothing else. A separate port
 * is the recommended setup: /metrics has no authentication (Prometheus scrapes it), and it tells
 * whoever can read it about traffic, sign-in failures and the process, so the port should be
 * reachable only by the scraper (firewall, network policy) while the main port faces the internet.
 */
export function createMetricsServer(metrics: Metrics): Server {
  return createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not Found\n');
      return;
    }
    exposition(metrics).then(({ contentType, body }) => {
      res.writeHead(200, { 'content-type': contentType, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    }, () => {
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics collection failed\n');
    });
  });
}
