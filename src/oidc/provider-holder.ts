import { AsyncLocalStorage } from 'node:async_hooks';
import type { JWK } from 'jose';
import type { Context, Middleware } from 'koa';
import compose from 'koa-compose';
import type Provider from 'oidc-provider';

/**
 * oidc-provider reads its signing keys once, when it is constructed, and has no public way to
 * change them. So a key change builds a new Provider with the same configuration and the new
 * keys (`build`, the one function that also attaches every listener and middleware) and switches
 * to it. Nothing is lost: sessions, grants, interactions and tokens live in the adapters, clients
 * in the database, and the cookie keys are the same.
 *
 * A request stays on the instance that was current when it arrived (`pin`, an async context),
 * so the steps of one request (interactionDetails, then interactionFinished; a token signed and
 * its record written) never straddle a switch. `provider` is a stable stand-in for consumers
 * built once (interaction handlers, services): every property it is asked for comes from the
 * request's instance, or the newest one outside a request.
 */
export interface ProviderHolder {
  /** Forwards to the request's instance (else the newest). */
  readonly provider: Provider;
  /** The request's instance, else the newest. */
  current(): Provider;
  /** Koa middleware: the rest of the request runs against the instance current now. */
  readonly pin: Middleware;
  /** Runs oidc-provider's own middleware of the request's instance on our context (as koa-mount would). */
  run(ctx: Context): Promise<void>;
  /** Builds an instance with these keys and makes it the newest; requests in flight finish on theirs. */
  replace(signingKeys: JWK[]): Provider;
  /** How many instances have been built: 1 until the first key change. */
  readonly generation: number;
}

export function createProviderHolder(build: (signingKeys: JWK[]) => Provider, signingKeys: JWK[]): ProviderHolder {
  let newest = build(signingKeys);
  let generation = 1;
  const pinned = new AsyncLocalStorage<Provider>();
  const composed = new WeakMap<Provider, (ctx: Context) => Promise<unknown>>();
  const current = (): Provider => pinned.getStore() ?? newest;

  // Model classes (Client, Grant, Session, ...) come from getters and are used as they are, with
  // their static methods; methods (interactionDetails, urlFor, ...) are bound to the instance,
  // as they read its private fields.
  const forward = (instance: Provider, property: string | symbol): unknown => {
    const value: unknown = Reflect.get(instance, property, instance);
    if (typeof value !== 'function') return value;
    for (let owner: object | null = instance; owner; owner = Object.getPrototypeOf(owner)) {
      const descriptor = Object.getOwnPropertyDescriptor(owner, property);
      if (descriptor) return descriptor.get ? value : (value as (...args: unknown[]) => unknown).bind(instance);
    }
    return value;
  };
  const provider = new Proxy(newest, {
    get: (_target, property) => forward(current(), property),
    set: (_target, property, value) => Reflect.set(current(), property, value),
    has: (_target, property) => Reflect.has(current(), property),
  });

  return {
    provider,
    current,
    pin: (_ctx, next) => pinned.run(newest, next),
    run(ctx) {
      const instance = current();
      let middleware = composed.get(instance);
      if (!middleware) {
        middleware = compose(instance.middleware) as unknown as (ctx: Context) => Promise<unknown>;
        composed.set(instance, middleware);
      }
      return middleware(ctx).then(() => undefined);
    },
    replace(keys) {
      newest = build(keys);
      generation += 1;
      return newest;
    },
    get generation() {
      return generation;
    },
  };
}
