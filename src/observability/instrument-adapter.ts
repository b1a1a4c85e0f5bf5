import type { Adapter, AdapterFactory } from 'oidc-provider';
import type { Histogram } from 'prom-client';
import { ServiceUnavailableError, toUnavailable } from '../http/unavailable.ts';
import { outageSeen } from '../http/outage-scope.ts';
import { boundObserver } from './bound-observer.ts';
import { deferConsume, deferWrite, takePrefetchedFind } from '../db/token-request-batch.ts';

const OPERATIONS = ['upsert', 'find', 'findByUid', 'findByUserCode', 'consume', 'destroy', 'revokeByGrantId'] as const;

type Operation = (...args: unknown[]) => Promise<unknown>;

/** Records a token request issues and never reads back: their writes may be sent at its end. */
const DEFERRABLE_UPSERTS = new Set(['AccessToken', 'RefreshToken']);
/** What a token request consumes and never reads back, likewise. */
const DEFERRABLE_CONSUMES = new Set(['RefreshToken', 'AuthorizationCode']);

/**
 * The one wrapper around every call of one model's storage adapter, built once per model:
 *  - a storage outage surfaces as ServiceUnavailableError (503 temporarily_unavailable), and in
 *    a request that has already met one the call fails at once instead of waiting out a deadline
 *    again (src/http/outage-scope.ts);
 *  - with a histogram, the call's duration, failures included, by model and operation.
 *  - inside a token request's batch (src/db/token-request-batch.ts), consuming the presented
 *    refresh token or code and writing the new access and refresh tokens are sent together at
 *    the request's end, and a find another step prefetched is taken instead of sent again.
 * One plain async function per operation: no proxy, no timer object, nothing allocated per call
 * beyond the call itself (this runs several times on every token request).
 */
export function instrumentAdapter(adapter: Adapter, model: string, histogram: Histogram<'model' | 'operation'> | null): Adapter {
  const guarded = {} as Record<(typeof OPERATIONS)[number], Operation>;
  for (const operation of OPERATIONS) {
    const call = (adapter[operation] as Operation).bind(adapter);
    // Bound once, here: prom-client's observe hashes the labels on every call.
    const observe = histogram ? boundObserver(histogram, { model, operation }) : null;
    guarded[operation] = async (...args: unknown[]) => {
      const down = outageSeen();
      if (down) throw new ServiceUnavailableError(down, new Error(`not tried: this request already found the ${down} unavailable`));
      const started = observe ? performance.now() : 0;
      try {
        return await call(...args);
      } catch (error) {
        throw toUnavailable(error);
      } finally {
        observe?.((performance.now() - started) / 1000);
      }
    };
  }
  const { find, upsert, consume, destroy } = guarded;
  guarded.find = (...args: unknown[]) => takePrefetchedFind(model, args[0] as string) ?? find(...args);
  if (DEFERRABLE_UPSERTS.has(model)) guarded.upsert = (...args: unknown[]) => deferWrite(() => upsert(...args), () => destroy(args[0])) ?? upsert(...args);
  if (DEFERRABLE_CONSUMES.has(model)) guarded.consume = (...args: unknown[]) => deferConsume(() => consume(...args)) ?? consume(...args);
  return guarded as unknown as Adapter;
}

/** The same factory, each model's adapter wrapped once (see instrumentAdapter). */
export function instrumentAdapterFactory(factory: AdapterFactory, histogram: Histogram<'model' | 'operation'> | null): AdapterFactory {
  return (model) => instrumentAdapter(factory(model), model, histogram);
}
