import { AsyncLocalStorage } from 'node:async_hooks';
import type { Middleware } from 'koa';

/**
 * A request that has met a storage outage is answered with 503 anyway; it must not wait out a
 * deadline a second time because something swallowed the first failure and asked again
 * (oidc-provider's authorization error handler looks the client up once more, ignoring errors,
 * to decide where the error may go). So the first outage is remembered for the rest of that
 * request, and later storage calls in it fail at once (see instrumentAdapter in src/observability/instrument-adapter.ts). Other
 * requests are not affected: each finds out for itself.
 */
const storage = new AsyncLocalStorage<{ down: 'database' | 'redis' | null }>();

export function outageScope(): Middleware {
  return (_ctx, next) => storage.run({ down: null }, next);
}

/** Notes, for the current request, that this dependency is unavailable. */
export function noteOutage(dependency: 'database' | 'redis'): void {
  const scope = storage.getStore();
  if (scope && !scope.down) scope.down = dependency;
}

/** The dependency the current request already found unavailable, or null. */
export function outageSeen(): 'database' | 'redis' | null {
  return storage.getStore()?.down ?? null;
}
