import { describe, expect, it } from 'vitest';
import type { Adapter } from 'oidc-provider';
import { batchTokenRequest, beforeFlush, deferWrite, dropPrefetchedFind, flushDeferredWrites, prefetchFind } from '../../src/db/token-request-batch.ts';
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
  it('sends the consumption and the new tokens\' writes at the flush, in the order asked, and not before', async () => {
    const { adapter, calls } = recordingAdapter();
    const refreshTokens = instrumentAdapter(adapter, 'RefreshToken', null);
    const accessTokens = instrumentAdapter(adapter, 'AccessToken', null);
    await batchTokenRequest(async () => {
      await refreshTokens.consume('old');
      await refreshTokens.upsert('new-rt', {}, 60);
      await accessTokens.upsert('new-at', {}, 60);
      expect(calls).toEqual([]);
      await flushDeferredWrites();
      expect(calls).toEqual(['consume old', 'upsert new-rt', 'upsert new-at']);
    });
  });

  it('fails with the consumption\'s error when someone consumed the token first, and destroys the tokens written beside it', async () => {
    const destroyed: string[] = [];
    const { adapter, calls } = recordingAdapter();
    Object.assign(adapter, {
      consume: async (id: string) => {
        calls.push(`consume ${id}`);
        throw Object.assign(new Error('invalid_grant'), { error_description: 'RefreshToken already consumed', status: 400 });
      },
      destroy: async (id: string) => void destroyed.push(id),
    });
    const refreshTokens = instrumentAdapter(adapter, 'RefreshToken', null);
    const accessTokens = instrumentAdapter(adapter, 'AccessToken', null);
    await expect(batchTokenRequest(async () => {
      await refreshTokens.consume('old');
      await refreshTokens.upsert('new-rt', {}, 60);
      await accessTokens.upsert('new-at', {}, 60);
      await flushDeferredWrites();
    })).rejects.toMatchObject({ error_description: 'RefreshToken already consumed' });
    expect(calls).toEqual(['consume old', 'upsert new-rt', 'upsert new-at']);
    expect(destroyed.sort()).toEqual(['new-at', 'new-rt']);
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

  it('lets a step add a write at the first flush, sent with the others, once', async () => {
    const { adapter, calls } = recordingAdapter();
    const accessTokens = instrumentAdapter(adapter, 'AccessToken', null);
    let prepared = 0;
    await batchTokenRequest(async () => {
      expect(beforeFlush(() => {
        prepared++;
        deferWrite(async () => void calls.push('record the answer'));
      })).toBe(true);
      await accessTokens.upsert('at', {}, 60);
      await flushDeferredWrites();
      expect(calls).toEqual(['upsert at', 'record the answer']);
      await flushDeferredWrites();
    });
    expect(prepared).toBe(1);
    expect(beforeFlush(() => {})).toBe(false);
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

describe('a token request that fails outside oidc-provider', () => {
  async function subject(options: { failClaim?: boolean } = {}) {
    const { createTokenRequest } = await import('../../src/oidc/token-request.ts');
    const emitted: string[] = [];
    const warnings: string[] = [];
    const provider = { emit: (event: string) => void emitted.push(event) } as unknown as import('oidc-provider').default;
    const failing = recordingAdapter({ failUpsert: new Error('Connection is closed.') });
    const accessTokens = instrumentAdapter(failing.adapter, 'AccessToken', null);
    const tokenRequest = createTokenRequest({
      provider,
      logger: { warn: (_fields: unknown, message?: string) => void warnings.push(String(message)) } as never,
      // A claim that meets the outage fails before oidc-provider runs.
      refreshGrace: async (_ctx, next) => {
        if (options.failClaim) throw new Error('Connection is closed.');
        return next();
      },
      runProvider: async (ctx) => {
        await accessTokens.upsert('at', {}, 60);
        ctx.status = 200;
        ctx.body = { access_token: 'at', token_type: 'Bearer' };
      },
    });
    const headers: Record<string, string> = {};
    const ctx = { status: 404, body: undefined as unknown, state: {}, set: (name: string, value: string) => void (headers[name] = value) } as unknown as import('koa').Context;
    await tokenRequest(ctx);
    return { ctx, headers, emitted, warnings, calls: failing.calls };
  }

  it('at the flush: answered as oidc-provider answers at the token endpoint, the OAuth error as JSON, 503 with Retry-After, its event, a log line', async () => {
    const { ctx, headers, emitted, warnings, calls } = await subject();
    expect(ctx.status).toBe(503);
    expect(ctx.body).toMatchObject({ error: 'temporarily_unavailable' });
    expect(JSON.stringify(ctx.body)).not.toContain('"at"');
    expect(headers['retry-after']).toBe('5');
    expect(emitted).toEqual(['grant.error']);
    expect(warnings).toEqual(['dependency unavailable']);
    expect(calls).toEqual(['upsert at']);
  });

  it('at the grace step\'s claim: the same JSON answer, whatever the client accepts, and nothing written', async () => {
    const { ctx, headers, emitted, calls } = await subject({ failClaim: true });
    expect(ctx.status).toBe(503);
    expect(ctx.body).toMatchObject({ error: 'temporarily_unavailable' });
    expect(headers['retry-after']).toBe('5');
    expect(emitted).toEqual(['grant.error']);
    expect(calls).toEqual([]);
  });
});
