import Router from '@koa/router';
import type { Database } from '../db/database.ts';

/** Answers within `ms` or rejects, so a probe never waits on a hung dependency. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Probes for load balancers and Kubernetes:
 *   /healthz  liveness: the process serves HTTP (restart it when this fails);
 *   /readyz   readiness: PostgreSQL (and Redis, when configured) answer within a second
 *             (take the instance out of rotation while this fails, don't restart it).
 */
export function healthRouter(deps: { db: Database; redis: { ping(): Promise<unknown> } | null }, timeoutMs = 1000): Router {
  const router = new Router();
  router.get('/healthz', (ctx) => {
    ctx.set('cache-control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', async (ctx) => {
    const checks: Record<string, 'ok' | 'failed'> = {};
    const probe = async (name: string, check: () => Promise<unknown>) => {
      checks[name] = await within(check(), timeoutMs).then(() => 'ok' as const, () => 'failed' as const);
    };
    await Promise.all([
      probe('database', () => deps.db.query('SELECT 1')),
      ...(deps.redis ? [probe('redis', () => deps.redis!.ping())] : []),
    ]);
    const ready = Object.values(checks).every((result) => result === 'ok');
    ctx.status = ready ? 200 : 503;
    ctx.set('cache-control', 'no-store');
    ctx.body = { status: ready ? 'ready' : 'unavailable', checks };
  });
  return router;
}
