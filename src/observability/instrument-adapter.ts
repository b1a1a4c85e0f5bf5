import type { Adapter, AdapterFactory } from 'oidc-provider';
import type { Histogram } from 'prom-client';

const OPERATIONS = ['upsert', 'find', 'findByUid', 'findByUserCode', 'consume', 'destroy', 'revokeByGrantId'] as const;

/** Times every call of one model's adapter, failures included, in `histogram` by model and operation. */
export function instrumentAdapter(adapter: Adapter, model: string, histogram: Histogram<'model' | 'operation'>): Adapter {
  const timed = {} as Adapter;
  for (const operation of OPERATIONS) {
    const call = adapter[operation].bind(adapter) as (...args: unknown[]) => Promise<unknown>;
    // The labelled child once, here: looking it up by labels hashes them on every call.
    const child = histogram.labels({ model, operation });
    (timed as unknown as Record<string, unknown>)[operation] = async (...args: unknown[]) => {
      const end = child.startTimer();
      try {
        return await call(...args);
      } finally {
        end();
      }
    };
  }
  return timed;
}

/** The same factory, each model's adapter timed (see instrumentAdapter). */
export function instrumentAdapterFactory(factory: AdapterFactory, histogram: Histogram<'model' | 'operation'>): AdapterFactory {
  return (model) => instrumentAdapter(factory(model), model, histogram);
}
