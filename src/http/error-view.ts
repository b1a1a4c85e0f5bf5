import type { Context } from 'koa';
import { errors } from 'oidc-provider';
import { isAppError, type ErrorParams } from '../errors.ts';
import { errorCodes, isErrorCode } from '../error-codes.ts';
import { RateLimitedError } from '../security/rate-limits.ts';
import { RETRY_AFTER_SECONDS, toUnavailable, ServiceUnavailableError } from './unavailable.ts';
import { RequestBytesError } from './request-bytes-error.ts';
import { waitDuration } from '../i18n/durations.ts';
import type { Pages } from '../pages/render.ts';

/** What every renderer needs to know of an error: its row in the table and its detail. */
export interface ErrorView {
  code: string;
  status: number;
  /** Catalogue key of the words a person reads (`<key>.title`, `<key>.text`). */
  key: string;
  /** For the caller (JSON, admin, CLI) and the page's details line; null for server errors. */
  detail: string | null;
  params: ErrorParams;
  retryAfterSeconds?: number;
  /** The OAuth `error` to answer non-browsers with, when it differs from `code`. */
  oauthError?: string;
  /** Not a client error: log it with its stack. */
  unexpected: boolean;
}

const row = (code: string, status?: number) => {
  if (isErrorCode(code)) return { status: status ?? errorCodes[code].status, key: errorCodes[code].key };
  // An OAuth code our table does not list: its own status, general words.
  return { status: status ?? 400, key: (status ?? 400) >= 500 ? errorCodes.server_error.key : 'errors.oauth.other' };
};

/** One classification for the page, the JSON of our routes, the admin API (and, by code, the CLI). */
export function classifyError(thrown: unknown): ErrorView {
  const error = toUnavailable(thrown);
  if (error instanceof ServiceUnavailableError) {
    return { code: 'temporarily_unavailable', ...row('temporarily_unavailable'), detail: error.error_description, params: {}, retryAfterSeconds: RETRY_AFTER_SECONDS, unexpected: false };
  }
  if (error instanceof errors.SessionNotFound) {
    // The interaction cookie or record is gone: it expired, was used already, or this is another browser.
    return { code: 'interaction.expired', ...row('interaction.expired'), detail: error.error_description ?? null, params: {}, unexpected: false };
  }
  if (error instanceof RequestBytesError) {
    return { code: error.code, ...row(error.code), detail: error.message, params: {}, oauthError: error.error, unexpected: false };
  }
  if (isAppError(error) && error.expose) {
    const view: ErrorView = { code: error.code, ...row(error.code), detail: error.message, params: error.params, unexpected: false };
    if (error instanceof RateLimitedError) view.retryAfterSeconds = error.retryAfterSeconds;
    return view;
  }
  if (error instanceof errors.OIDCProviderError && error.expose) {
    return { code: error.error, ...row(error.error, error.status), detail: error.error_description ?? error.message, params: {}, unexpected: false };
  }
  const http = error as { status?: unknown; expose?: unknown; message?: string } | null;
  if (typeof http?.status === 'number' && http.status >= 400 && http.status < 500 && http.expose !== false) {
    // Raised by Koa middleware (body parser: 413 too large, 400 malformed, 415 type).
    const code = http.status === 413 ? 'request.too_large' : http.status === 415 ? 'request.unsupported_media_type' : 'request.invalid';
    return { code, ...row(code), status: http.status, detail: http.message ?? null, params: {}, unexpected: false };
  }
  return { code: 'server_error', ...row('server_error'), detail: null, params: {}, unexpected: true };
}

/** The English words of an error, for JSON answers that have no detail of their own. */
export function describeInEnglish(pages: Pages, view: ErrorView): string {
  return view.detail ?? pages.catalogue.t('en')(`${view.key}.text`, wordsParams(view, 'en'));
}

function wordsParams(view: ErrorView, locale: string): Record<string, string | number> {
  return {
    ...view.params,
    ...(view.retryAfterSeconds !== undefined ? { wait: waitDuration(locale, view.retryAfterSeconds) } : {}),
  };
}

/** A way on from an error page: where to go, in words. */
export interface ErrorAction {
  href: string;
  label: string;
}

/**
 * The error page: what happened and what to do, in the person's language; the code, the
 * protocol detail and the request id on one small line for support. A 503 offers to try again.
 */
export function renderErrorPage(pages: Pages, ctx: Context, view: ErrorView, options: { action?: ErrorAction | null; detail?: string | null } = {}): void {
  const locale = pages.locale(ctx);
  const t = pages.catalogue.t(locale);
  const params = wordsParams(view, locale);
  let action = options.action ?? null;
  if (!action && view.status === 503) {
    const again = ctx.method === 'GET' || ctx.method === 'HEAD';
    // A GET can simply be asked again; a form is refilled from the page it came from.
    const interaction = /^\/interaction\/[A-Za-z0-9_-]+/.exec(ctx.path)?.[0];
    action = { href: again ? ctx.originalUrl : interaction ?? '/', label: t(again ? 'error.retry' : 'error.back') };
  }
  ctx.status = view.status;
  pages.render(ctx, 'error', {
    title: t(`${view.key}.title`, params),
    text: t(`${view.key}.text`, params),
    code: view.code,
    detail: options.detail === undefined ? (view.status < 500 ? view.detail : null) : options.detail,
    requestId: ctx.state.requestId ?? null,
    action,
    // The language switch leads to the sign-in step, or the start: an error page never echoes
    // the request that failed (its values may be the very bytes that were refused, or anyone's).
    switchUrl: /^\/interaction\/[A-Za-z0-9_-]{1,64}(?=\/|$)/.exec(ctx.path)?.[0] ?? '/',
  });
}
