import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Storage calls of one token request (POST /token), sent together where the order of
 * oidc-provider's steps does not need them apart. On Redis each awaited call is a round trip,
 * and on a 2-core host each round trip is a socket write and a wake-up on both sides, which
 * cost more CPU than the command itself. Two things change inside the batch:
 *
 *  - Writes of freshly issued tokens are sent at the end. oidc-provider saves a rotated refresh
 *    token, then the access token, awaiting each before the next step (and between them it
 *    may wait on something else, so even ioredis' auto-pipelining sends them apart); here the
 *    adapter wrapper (src/observability/instrument-adapter.ts) keeps such a write and returns
 *    at once, and flushDeferredWrites() sends all of them together and waits for them before
 *    anything reads the response. A failed write fails the request then, as it would have
 *    failed at the write (503 on an outage): no token is handed out that was not stored, and a
 *    request that fails before the flush writes none of them. Nothing in a token request reads
 *    back a token it has just issued.
 *  - A find can be started early (prefetchFind) by a step that already knows what
 *    oidc-provider will look up: the refresh grace step (src/oidc/refresh-grace.ts) reads the
 *    presented refresh token in the same pipeline as its rotation claim. oidc-provider's own
 *    find then takes that read instead of sending another, once.
 *
 * Outside a batch (every other route, the CLI) nothing is deferred or prefetched.
 */
interface Batch {
  writes: Array<() => Promise<unknown>>;
  finds: Map<string, Promise<unknown>>;
}

const current = new AsyncLocalStorage<Batch>();

/**
 * Runs `work` as one batch: writes it deferred and did not flush are sent at its end, if it
 * succeeded (a failed request stores none of them).
 */
export async function batchTokenRequest<T>(work: () => Promise<T>): Promise<T> {
  const batch: Batch = { writes: [], finds: new Map() };
  const result = await current.run(batch, work);
  await flush(batch);
  return result;
}

/**
 * Sends the writes deferred so far in this batch, together, and waits for them; throws the
 * first failure. A no-op outside a batch.
 */
export async function flushDeferredWrites(): Promise<void> {
  const batch = current.getStore();
  if (batch) await flush(batch);
}

async function flush(batch: Batch): Promise<void> {
  while (batch.writes.length > 0) {
    // Started in one go, so they share one pipeline.
    const settled = await Promise.allSettled(batch.writes.splice(0).map((write) => write()));
    const failed = settled.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;
  }
}

/**
 * Inside a batch: keeps `write` for the flush and returns a promise already resolved. Outside
 * one: null, and nothing is kept.
 */
export function deferWrite(write: () => Promise<unknown>): Promise<undefined> | null {
  const batch = current.getStore();
  if (!batch) return null;
  batch.writes.push(write);
  return Promise.resolve(undefined);
}

const findKey = (model: string, id: string) => `${model}\0${id}`;

/** Inside a batch: starts `find` now and keeps it for the next takePrefetchedFind of the same record. */
export function prefetchFind(model: string, id: string, find: () => Promise<unknown>): void {
  const batch = current.getStore();
  if (!batch) return;
  const started = find();
  // Whoever takes it sees its failure; one nobody took must not count as unhandled.
  started.catch(() => {});
  batch.finds.set(findKey(model, id), started);
}

/** Drops a prefetched find nobody should take any more (the step that started it changed course). */
export function dropPrefetchedFind(model: string, id: string): void {
  current.getStore()?.finds.delete(findKey(model, id));
}

/** The find prefetched for this record in this batch, once; undefined when there is none. */
export function takePrefetchedFind(model: string, id: string): Promise<unknown> | undefined {
  const batch = current.getStore();
  if (!batch || batch.finds.size === 0) return undefined;
  const key = findKey(model, id);
  const found = batch.finds.get(key);
  if (found) batch.finds.delete(key);
  return found;
}
