import type { Context } from 'koa';
import type { Catalogue } from './catalogue.ts';
import { matchLocale, negotiateLocale } from './negotiate.ts';

/** Remembers a language picked on a page; only a supported tag is ever read back from it. */
export const LANGUAGE_COOKIE = 'idp_lang';

export interface LocaleHints {
  /** The relying party's `ui_locales`, from the interaction's authorization request. */
  uiLocales?: string | null | undefined;
  /** The signed-in person's `locale` claim. */
  claim?: string | null | undefined;
}

/** Handlers that know more than the request itself (the interaction, the account) say so here. */
export function setLocaleHints(ctx: Context, hints: LocaleHints): void {
  ctx.state.localeHints = { ...(ctx.state.localeHints as LocaleHints | undefined), ...hints };
}

function oidcUiLocales(ctx: Context): string | undefined {
  const params = (ctx as { oidc?: { params?: Record<string, unknown> } }).oidc?.params;
  return typeof params?.ui_locales === 'string' ? params.ui_locales : undefined;
}

/**
 * The language of this response (src/i18n/negotiate.ts gives the order). A `?lang=` from the
 * language switch is remembered in a cookie for the rest of the visit; oidc-provider's own pages
 * (logout, errors) read `ui_locales` from its parameters.
 */
export function requestLocale(ctx: Context, catalogue: Catalogue): string {
  const hints = (ctx.state.localeHints ?? {}) as LocaleHints;
  const asked = typeof ctx.query.lang === 'string' ? matchLocale(catalogue.locales, ctx.query.lang) : null;
  if (asked && ctx.get('cookie').includes(`${LANGUAGE_COOKIE}=${asked}`) === false) {
    ctx.cookies.set(LANGUAGE_COOKIE, asked, { httpOnly: true, sameSite: 'lax', maxAge: 365 * 86_400_000, overwrite: true, signed: false });
  }
  const remembered = asked ?? ctx.cookies.get(LANGUAGE_COOKIE, { signed: false }) ?? null;
  return negotiateLocale(catalogue.locales, catalogue.defaultLocale, {
    choice: remembered,
    uiLocales: hints.uiLocales ?? oidcUiLocales(ctx),
    claim: hints.claim,
    accepted: ctx.acceptsLanguages(),
  });
}
