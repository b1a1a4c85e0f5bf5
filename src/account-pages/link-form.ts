import type { Context } from 'koa';
import { AppError } from '../errors.ts';
import type { Csrf } from '../interactions/csrf.ts';
import { formFields } from '../interactions/form.ts';

/**
 * The token from a mailed link: from the query on GET, from the form on POST. Forms carry a CSRF
 * token bound to the link token, on top of the link token itself being the secret.
 */
export function linkToken(ctx: Context): string {
  const token = ctx.method === 'GET' ? ctx.query.token : formFields(ctx).token;
  return typeof token === 'string' ? token : '';
}

export const linkCsrf = (csrf: Csrf, token: string): string => csrf.token(`link:${token}`);

export function requireLinkCsrf(csrf: Csrf, ctx: Context, token: string): void {
  if (!csrf.verify(`link:${token}`, formFields(ctx).csrf)) {
    throw new AppError('request.csrf', 'This form has expired or was not sent by this site. Open the link from the email again.', 403);
  }
}

export function renderNotice(ctx: Context, renderPage: (view: string, data: { title: string } & Record<string, unknown>) => string, notice: { status?: number; title: string; text: string }): void {
  ctx.status = notice.status ?? 200;
  ctx.type = 'html';
  ctx.set('cache-control', 'no-store');
  ctx.body = renderPage('notice', { title: notice.title, text: notice.text });
}
