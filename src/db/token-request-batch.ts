import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Storage calls of one token request (POST /token), sent together where the order of
 * oidc-provider's steps does not need them apart. On Redis each awaited call is a round trip,
 * and on a 2-core host each round trip is a socket write and a wake-up on both sides, which
 * cost more CPU than the command itself. Two things change inside the batch:
 *
 *  - Writes are sent at the end: the consumption of the presented refresh token or code and the
 *    writes of the freshly issued tokens. oidc-provider consumes, then saves the rotated
 *    refresh token, then the access token, awaiting each before the next step (and between
 *    them it may wait on something else, so even ioredis' auto-pipelining sends them apart);
 *    here the adapter wrapper (src/observability/instrument-adapter.ts) keeps each and returns
 *    at once, and flushDeferredWrites() sends them together, in the order they were asked for,
 *    and waits for them before anything reads the response. A failed write fails the request
 *    then, as it would have failed at the write (503 on an outage): no token is handed out
 *    that was not stored, and a request that fails before the flush writes none of them. A
 *    consumption that fails (someone else consumed it first) fails the request with its error,
 *    and the tokens written beside it are destroyed again, so the loser of a race issues
 *    nothing, as when it failed at its consume. Nothing in a token request reads back what it
 *    has just consumed or issued.
 *  - A find can be started early (prefetchFind) by a step that already knows what
 *    oidc-provider will look up: the refresh grace step (src/oidc/refresh-grace.ts) reads the
 *    presented refresh token in the same pipeline as its rotation claim. oidc-provider's own
 *    find then takes that read instead of sending another, once.
 *
 * Outside a batch (every other route, the CLI) nothing is deferred or prefetched.
 */
interface Deferred {
  run(): Promise<unknown>;
  /** A consumption: if it fails, the writes beside it are undone. */
  consumes: boolean;
  /** Undoes a write (destroys the record it wrote). */
  undo?: () => Promise<unknown>;
}

interface Batch {
  writes: Deferred[];
  finds: Map<string, Promise<unknown>>;
  /** Run once, at the first flush, before anything is sent: they may defer more writes. */
  beforeFlush: Array<() => void>;
}

const current = new AsyncLocalStorage<Batch>();

/**
 * Runs `work` as one batch: writes it deferred and did not flush are sent at its end, if it
 * succeeded (a failed request stores none of them).
 */
export async function batchTokenRequest<T>(work: () => Promise<T>): Promise<T> {
  const batch: Batch = { writes: [], finds: new Map(), beforeFlush: [] };
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
  for (const prepare of batch.beforeFlush.splice(0)) prepare();
  while (batch.writes.length > 0) {
    const writes = batch.writes.splice(0);
    // Started in one go, so they share one pipeline (and Redis runs them in this order).
    const settled = await Promise.allSettled(writes.map((write) => write.run()));
    const lostConsume = settled.find((outcome, i) => outcome.status === 'rejected' && writes[i]!.consumes);
    if (lostConsume) {
      // Best effort: a token nobody was given is unusable anyway; its TTL ends it otherwise.
      await Promise.allSettled(writes.map((write, i) => (settled[i]!.status === 'fulfilled' && write.undo ? write.undo() : null)));
      throw (lostConsume as PromiseRejectedResult).reason;
    }
    const failed = settled.find((outcome) => outcome.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }
}

/**
 * Inside a batch: keeps `write` for the flush (with how to undo it, should a consumption
 * beside it fail) and returns a promise already resolved. Outside one: null, nothing is kept.
 */
export function deferWrite(write: () => Promise<unknown>, undo?: () => Promise<unknown>): Promise<undefined> | null {
  return keep({ run: write, consumes: false, ...(undo ? { undo } : {}) });
}

/** Inside a batch: keeps the consumption of a one-time record for the flush, as deferWrite does. */
export function deferConsume(consume: () => Promise<unknown>): Promise<undefined> | null {
  return keep({ run: consume, consumes: true });
}

function keep(write: Deferred): Promise<undefined> | null {
  const batch = current.getStore();
  if (!batch) return null;
  batch.writes.push(write);
  return Promise.resolve(undefined);
}

/**
 * Inside a batch: runs `prepare` at its first flush, before the writes leave, so what it defers
 * then (a record of the answer the request is about to give) shares their pipeline. Outside
 * one: false, and nothing is kept.
 */
export function beforeFlush(prepare: () => void): boolean {
  const batch = current.getStore();
  if (!batch) return false;
  batch.beforeFlush.push(prepare);
  return true;
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
