import type { Context, Middleware } from 'koa';
import { errorEntry, type ErrorCode } from '../error-codes.ts';
import { classifyError } from '../http/error-view.ts';
import { noteForLog } from '../http/request-context.ts';
import type { Pages } from '../pages/render.ts';

/**
 * The console's JSON endpoints (the passkey script, views/passkey.js) show `error` to the person
 * as it is, so it is the error table's words in their language, not a code.
 */
export function jsonRefusal(ctx: Context, pages: Pages, code: ErrorCode, detail?: string): void {
  const entry = errorEntry(code);
  noteForLog(ctx, { error: code, errorDescription: detail });
  ctx.status = entry.status;
  ctx.set('cache-control', 'no-store');
  ctx.body = { error: pages.t(ctx)(`${entry.key}.text`) };
}

/** A refusal in words the page chose (a passkey that did not verify, a name too long). */
export function jsonProblem(ctx: Context, status: number, message: string): void {
  ctx.status = status;
  ctx.set('cache-control', 'no-store');
  ctx.body = { error: message };
}

export function jsonAnswer(ctx: Context, body: object): void {
  ctx.status = 200;
  ctx.set('cache-control', 'no-store');
  ctx.body = body;
}

/** The fields of a JSON body (the bodyparser leaves an object, or nothing). */
export function jsonFields(ctx: Context): Record<string, unknown> {
  const body = (ctx.request as { body?: unknown }).body;
  return body && typeof body === 'object' && !Array.isArray(body) ? body as Record<string, unknown> : {};
}

/**
 * Refusals thrown on the way (a body that is not JSON, a factor that is not found) in the same
 * shape, so the script can show them. Server errors and outages go on to the error handler,
 * which logs them.
 */
export function jsonErrors(pages: Pages): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const view = classifyError(error);
      if (view.unexpected || view.status >= 500) throw error;
      noteForLog(ctx, { error: view.code, errorDescription: view.detail?.slice(0, 200) });
      ctx.status = view.status;
      ctx.set('cache-control', 'no-store');
      ctx.body = { error: pages.t(ctx)(`${view.key}.text`, view.params) };
    }
  };
}
