import type { Context } from 'koa';
import { AppError } from '../errors.ts';
import type { ErrorCode } from '../error-codes.ts';
import { classifyError, renderErrorPage } from '../http/error-view.ts';
import { noteForLog } from '../http/request-context.ts';
import type { Pages } from '../pages/render.ts';

/**
 * A sign-in to the console that did not work: the error page in the person's words (from the
 * error table), with the protocol detail on its details line and a way to try again.
 */
export function refuseSignIn(ctx: Context, pages: Pages, code: ErrorCode, detail: string, again: string): void {
  const view = classifyError(new AppError(code, detail));
  noteForLog(ctx, { error: view.code, errorDescription: detail });
  renderErrorPage(pages, ctx, view, { action: { href: again, label: pages.t(ctx)('account.try_again') } });
}
