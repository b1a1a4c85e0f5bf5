import type { Context } from 'koa';
import { AppError } from '../errors.ts';
import type { Csrf } from '../interactions/csrf.ts';
import { formFields } from '../interactions/form.ts';
import type { AccountPageDeps } from './deps.ts';
import { applicationEntry, namedClient } from '../interactions/restart.ts';
import type { ErrorAction } from '../http/error-view.ts';

/** A field of a mailed link: from the query on GET, from the form on POST. */
function linkField(ctx: Context, name: string): string {
  const value = ctx.method === 'GET' ? ctx.query[name] : formFields(ctx)[name];
  return typeof value === 'string' ? value : '';
}

/**
 * The token from a mailed link. Forms carry a CSRF token bound to the link token, on top of the
 * link token itself being the secret.
 */
export const linkToken = (ctx: Context): string => linkField(ctx, 'token');

/** The sign-in the link was sent from, if it said (an interaction uid is no secret: its cookie is). */
export function linkInteraction(ctx: Context): string {
  const uid = linkField(ctx, 'interaction');
  return /^[A-Za-z0-9_-]{8,64}$/.test(uid) ? uid : '';
}

export const linkCsrf = (csrf: Csrf, token: string): string => csrf.token(`link:${token}`);

export function requireLinkCsrf(csrf: Csrf, ctx: Context, token: string): void {
  if (!csrf.verify(`link:${token}`, formFields(ctx).csrf)) {
    throw new AppError('request.csrf', 'the form\'s CSRF token does not match its link');
  }
}

/**
 * The way on after a mailed link's page: back into the sign-in it was sent from while that is
 * still alive, else to the application (src/interactions/restart.ts), else none (the page
 * then says where to go).
 */
export async function nextStep(ctx: Context, deps: AccountPageDeps): Promise<ErrorAction | null> {
  const t = deps.pages.t(ctx);
  const client = await namedClient(deps.provider, ctx, t('common.the_application'));
  const uid = linkInteraction(ctx);
  if (uid && await deps.provider.Interaction.find(uid)) {
    const back = client ? `/interaction/${uid}?client_id=${encodeURIComponent(client.id)}` : `/interaction/${uid}`;
    return { href: back, label: t('next.continue_sign_in') };
  }
  const entry = applicationEntry(client, deps.issuer);
  return entry ? { href: entry.href, label: t('next.continue_to', { client: client!.name }) } : null;
}

export async function renderNotice(ctx: Context, deps: AccountPageDeps, notice: { status?: number; title: string; text: string; next?: boolean }): Promise<void> {
  ctx.status = notice.status ?? 200;
  const action = notice.next === false ? null : await nextStep(ctx, deps);
  deps.pages.render(ctx, 'notice', {
    title: notice.title,
    text: notice.text,
    action,
    hint: action ? null : deps.pages.t(ctx)('next.no_way_back'),
  });
}
