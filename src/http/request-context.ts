import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../log.ts';

export interface LogFields {
  clientId?: string | undefined;
  accountId?: string | undefined;
  /** The error code a 4xx/5xx answer carried (an OAuth `error`, or one of ours). */
  error?: string | undefined;
  /** Its description, only when it can name no secret (see src/oidc/diagnostics.ts). */
  errorDescription?: string | undefined;
}

/** Records the client and account a request is about, for its log line. */
export function noteForLog(ctx: { state: Record<string, unknown> }, fields: LogFields): void {
  ctx.state.log = { ...(ctx.state.log as LogFields | undefined), ...fields };
}

/** A request id (kept from a trusted proxy's X-Request-Id) and one log line per request. */
export function requestContext(logger: Logger): Middleware {
  return async (ctx, next) => {
    const header = ctx.get('x-request-id');
    const id = /^[\w.-]{1,128}$/.test(header) ? header : randomUUID();
    ctx.state.requestId = id;
    ctx.set('x-request-id', id);
    const started = performance.now();
    try {
      await next();
    } finally {
      // Below the configured level the line would be dropped: do not build it.
      if (logger.isLevelEnabled('info')) logLine(ctx, id, started);
    }
  };

  function logLine(ctx: Parameters<Middleware>[0], id: string, started: number): void {
    const ms = Math.round((performance.now() - started) * 10) / 10;
    // Who, where known: noted by our handlers and, for protocol requests, by a middleware of
    // oidc-provider's (src/oidc/provider.ts), which runs on this same context.
    const known = (ctx.state.log ?? {}) as LogFields;
    // Only the path: query strings carry codes, tokens and state.
    logger.info({
      id, method: ctx.method, path: ctx.path, status: ctx.status, ms, clientId: known.clientId, accountId: known.accountId,
      error: known.error, errorDescription: known.errorDescription,
    }, 'request');
  }
}
