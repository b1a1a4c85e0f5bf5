import type { Context, Next } from 'koa';
import type Provider from 'oidc-provider';
import { batchTokenRequest, flushDeferredWrites } from '../db/token-request-batch.ts';
import { toUnavailable } from '../http/unavailable.ts';
import { noteProviderError } from './diagnostics.ts';

interface ProviderError {
  expose?: boolean;
  statusCode?: number;
  status?: number;
  error?: string;
  error_description?: string;
}

/**
 * POST /token: the refresh grace step around oidc-provider, as one storage batch
 * (src/db/token-request-batch.ts). What oidc-provider consumed and issued is written before the
 * grace step reads the answer and before the answer leaves; a write that fails then is
 * answered as oidc-provider answers a failure at the token endpoint (its JSON error, the
 * status, the `grant.error` or `server_error` event), since it happened after its own error
 * handler had finished.
 */
export function createTokenRequest(options: {
  provider: Provider;
  refreshGrace: (ctx: Context, next: Next) => Promise<void>;
  runProvider: (ctx: Context) => Promise<void>;
}): (ctx: Context) => Promise<void> {
  const { provider, refreshGrace, runProvider } = options;

  function answerFailure(ctx: Context, thrown: unknown): void {
    const error = toUnavailable(thrown, 'redis') as ProviderError & Error;
    const exposed = error.expose === true && typeof error.error === 'string';
    ctx.status = exposed ? error.statusCode ?? error.status ?? 400 : 500;
    ctx.body = exposed
      ? { error: error.error, ...(error.error_description ? { error_description: error.error_description } : {}) }
      : { error: 'server_error', error_description: 'oops! something went wrong' };
    if (exposed) provider.emit('grant.error', ctx, error);
    else provider.emit('server_error', ctx, error);
    noteProviderError(ctx);
  }

  return (ctx) => batchTokenRequest(() => refreshGrace(ctx, async () => {
    await runProvider(ctx);
    try {
      await flushDeferredWrites();
    } catch (error) {
      answerFailure(ctx, error);
    }
  }));
}
