import { describe, expect, it } from 'vitest';
import type { Adapter } from 'oidc-provider';
import { batchTokenRequest, dropPrefetchedFind, flushDeferredWrites, prefetchFind } from '../../src/db/token-request-batch.ts';
import { instrumentAdapter } from '../../src/observability/instrument-adapter.ts';
import { ServiceUnavailableError } from '../../src/http/unavailable.ts';

/** An adapter that records what reached it, in order. */
function recordingAdapter(options: { failUpsert?: Error } = {}) {
  const calls: string[] = [];
  const adapter = {
    async upsert(id: string) {
      calls.push(`upsert ${id}`);
      if (options.failUpsert) throw options.failUpsert;
    },
    async find(id: string) {
      calls.push(`find ${id}`);
      return { jti: id };
    },
    async findByUid() { return undefined; },
    async findByUserCode() { return undefined; },
    async consume(id: string) { calls.push(`consume ${id}`); },
    async destroy() {},
    async revokeByGrantId() {},
  } as unknown as Adapter;
  return { adapter, calls };
}

describe('token request batch', () => {
  it('sends a new token\'s write at the flush, with the others, and not before', async () => {
    const { adapter, calls } = recordingAdapter();
    const refreshTokens = instrumentAdapter(adapter, 'RefreshToken', null);
    const accessTokens = instrumentAdapter(adapter, 'AccessToken', null);
    await batchTokenRequest(async () => {
      await refreshTokens.consume('old');
      await refreshTokens.upsert('new-rt', {}, 60);
      await accessTokens.upsert('new-at', {}, 60);
      expect(calls).toEqual(['consume old']);
      await flushDeferredWrites();
      expect(calls).toEqual(['consume old', 'upsert new-rt', 'upsert new-at']);
    });
  });

  it('fails the flush as the write would have failed (503 on an outage), and writes nothing for a request that failed first', async () => {
    const outage = Object.assign(new Error('Connection is closed.'), { name: 'Error' });
    const failing = recordingAdapter({ failUpsert: outage });
    const accessTokens = instrumentAdapter(failing.adapter, 'AccessToken', null);
    const flushed = batchTokenRequest(async () => {
      await accessTokens.upsert('at', {}, 60);
      await flushDeferredWrites();
    });
    await expect(flushed).rejects.toBeInstanceOf(ServiceUnavailableError);

    const { adapter, calls } = recordingAdapter();
    const refreshTokens = instrumentAdapter(adapter, 'RefreshToken', null);
    await expect(batchTokenRequest(async () => {
      await refreshTokens.upsert('rt', {}, 60);
      throw new Error('invalid_grant');
    })).rejects.toThrow('invalid_grant');
    expect(calls).toEqual([]);
  });

  it('writes what is left at the end of the batch, and defers nothing outside one', async () => {
    const { adapter, calls } = recordingAdapter();
    const accessTokens = instrumentAdapter(adapter, 'AccessToken', null);
    await batchTokenRequest(async () => {
      await accessTokens.upsert('at', {}, 60);
    });
    expect(calls).toEqual(['upsert at']);
    await accessTokens.upsert('outside', {}, 60);
    expect(calls).toEqual(['upsert at', 'upsert outside']);
  });

  it('defers only freshly issued tokens: a session or grant is written when asked', async () => {
    const { adapter, calls } = recordingAdapter();
    await batchTokenRequest(async () => {
      await instrumentAdapter(adapter, 'Session', null).upsert('s', {}, 60);
      await instrumentAdapter(adapter, 'Grant', null).upsert('g', {}, 60);
      expect(calls).toEqual(['upsert s', 'upsert g']);
    });
  });

  it('hands a prefetched find to the next find of that record, once, and not after it was dropped', async () => {
    const { adapter, calls } = recordingAdapter();
    const refreshTokens = instrumentAdapter(adapter, 'RefreshToken', null);
    await batchTokenRequest(async () => {
      prefetchFind('RefreshToken', 'rt', () => refreshTokens.find('rt'));
      expect(calls).toEqual(['find rt']);
      expect(await refreshTokens.find('rt')).toEqual({ jti: 'rt' });
      expect(calls).toEqual(['find rt']);
      // Taken once: the next find asks the adapter again.
      await refreshTokens.find('rt');
      expect(calls).toEqual(['find rt', 'find rt']);
      // Another model's record with the same id is not the prefetched one.
      prefetchFind('RefreshToken', 'x', () => refreshTokens.find('x'));
      await instrumentAdapter(adapter, 'AccessToken', null).find('x');
      dropPrefetchedFind('RefreshToken', 'x');
      await refreshTokens.find('x');
      expect(calls).toEqual(['find rt', 'find rt', 'find x', 'find x', 'find x']);
    });
    // Outside a batch a prefetch does nothing.
    prefetchFind('RefreshToken', 'y', () => refreshTokens.find('y'));
    expect(calls).not.toContain('find y');
  });
});
