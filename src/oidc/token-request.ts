import type { Context, Next } from 'koa';
import type Provider from 'oidc-provider';
import { batchTokenRequest, flushDeferredWrites } from '../db/token-request-batch.ts';
import { RETRY_AFTER_SECONDS, ServiceUnavailableError, toUnavailable } from '../http/unavailable.ts';
import type { Logger } from '../log.ts';
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
 * grace step reads the answer and before the answer leaves. A failure outside oidc-provider's
 * own error handler (a write at the flush, the grace step's claim meeting an outage) is
 * answered as that handler answers at the token endpoint: its JSON error whatever the client
 * accepts, the status, the `grant.error` or `server_error` event; an outage is a 503 with
 * Retry-After, as everywhere else, and logged.
 */
export function createTokenRequest(options: {
  provider: Provider;
  refreshGrace: (ctx: Context, next: Next) => Promise<void>;
  runProvider: (ctx: Context) => Promise<void>;
  logger: Pick<Logger, 'warn'>;
}): (ctx: Context) => Promise<void> {
  const { provider, refreshGrace, runProvider, logger } = options;

  function answerFailure(ctx: Context, thrown: unknown): void {
    const error = toUnavailable(thrown, 'redis') as ProviderError & Error;
    const exposed = error.expose === true && typeof error.error === 'string';
    ctx.status = exposed ? error.statusCode ?? error.status ?? 400 : 500;
    ctx.body = exposed
      ? { error: error.error, ...(error.error_description ? { error_description: error.error_description } : {}) }
      : { error: 'server_error', error_description: 'oops! something went wrong' };
    if (error instanceof ServiceUnavailableError) {
      ctx.set('retry-after', String(RETRY_AFTER_SECONDS));
      logger.warn({ id: ctx.state.requestId, dependency: error.dependency, err: (error.cause as Error | undefined)?.message }, 'dependency unavailable');
    }
    if (exposed) provider.emit('grant.error', ctx, error);
    else provider.emit('server_error', ctx, error);
    noteProviderError(ctx);
  }

  return (ctx) => batchTokenRequest(async () => {
    try {
      await refreshGrace(ctx, async () => {
        await runProvider(ctx);
        await flushDeferredWrites();
      });
    } catch (error) {
      answerFailure(ctx, error);
    }
  });
}
