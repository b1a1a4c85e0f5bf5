import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Context } from 'koa';
import ejs from 'ejs';
import type { Catalogue, Translate } from '../i18n/catalogue.ts';
import { requestLocale } from '../i18n/request-locale.ts';

export const viewsDir = fileURLToPath(new URL('../../views/', import.meta.url));

/** What a theme changes (src/pages/theme.ts): where templates come from, the logo, extra CSS. */
export interface PageTheme {
  /** The file for `login.ejs` or `mail/verify-email.html.ejs`: the theme's, else the built-in one. */
  templatePath(relative: string): string;
  logoUrl: string | null;
  /** Stylesheets after the built-in one: brand colours, then the theme's own. */
  stylesheets: readonly string[];
}

export const builtinTheme: PageTheme = {
  templatePath: (relative) => `${viewsDir}${relative}`,
  logoUrl: null,
  stylesheets: [],
};

export type PageData = Record<string, unknown> & {
  /** The page title, already in words; else the view's `<view>.title` message. */
  title?: string;
  /** Where the language switch links to when this page answers a POST (default: the sign-in). */
  switchUrl?: string;
};

export interface Pages {
  /**
   * Renders `views/<view>.ejs` inside the layout as the response: in the request's language
   * (Content-Language follows), with the brand, the language switch and `no-store`.
   */
  render(ctx: Context, view: string, data?: PageData): void;
  /** The request's language and its messages, for handlers that word something themselves. */
  locale(ctx: Context): string;
  t(ctx: Context): Translate;
  readonly catalogue: Catalogue;
}

export interface Brand {
  name: string;
}

/**
 * Compiles each template once; a render is then only string work. Partials too: without ejs'
 * `cache`, every `include()` read its file and compiled it again on every render (a quarter of a
 * millisecond per sign-in). ejs keeps compiled partials in one process-wide cache by file name,
 * and a partial compiles its escape function in, so a cache with its own escape (`variant`, e.g.
 * plain-text mail) keys its partials under a name of its own.
 */
export function templateCache(theme: PageTheme, options: { escape?: (value: unknown) => string; variant?: string } = {}) {
  const compiled = new Map<string, ejs.TemplateFunction>();
  if (options.escape && !options.variant) throw new Error('a template cache with its own escape needs a variant name');
  const texts = new Map<string, string>();
  const includer = (name: string): ejs.IncluderResult => {
    const filename = theme.templatePath(`${name}.ejs`);
    if (!options.variant) return { filename };
    let template = texts.get(filename);
    if (template === undefined) texts.set(filename, template = readFileSync(filename, 'utf8'));
    // ejs takes both (the name keys its cache, the text is what it compiles); its types say one.
    return { filename: `${filename}#${options.variant}`, template } as unknown as ejs.IncluderResult;
  };
  return (relative: string): ejs.TemplateFunction => {
    let fn = compiled.get(relative);
    if (!fn) {
      const filename = theme.templatePath(relative);
      fn = ejs.compile(readFileSync(filename, 'utf8'), {
        filename,
        strict: true,
        localsName: 'it',
        cache: true,
        // `include('partials/x')` finds the theme's partial first, like every other template.
        includer,
        ...(options.escape ? { escape: options.escape } : {}),
      });
      compiled.set(relative, fn);
    }
    return fn;
  };
}

/**
 * The one page renderer. ejs escapes `<%= %>` output, which every view uses for anything that
 * came from a request, a client's metadata, an account or a message (translations included).
 */
export function createPages(options: { brand: Brand; catalogue: Catalogue; theme?: PageTheme }): Pages {
  const { brand, catalogue } = options;
  const theme = options.theme ?? builtinTheme;
  const template = templateCache(theme);
  const stylesheets = ['/assets/style.css', ...theme.stylesheets];

  const languageLinks = (ctx: Context, current: string, data: PageData) => {
    if (catalogue.locales.length < 2) return [];
    const again = (ctx.method === 'GET' || ctx.method === 'HEAD') && data.switchUrl === undefined;
    const fallback = data.switchUrl ?? (typeof data.uid === 'string' ? `/interaction/${data.uid}` : '/');
    return catalogue.locales.map((locale) => {
      const url = new URL(again ? ctx.originalUrl : fallback, 'http://page.invalid');
      url.searchParams.set('lang', locale);
      return { locale, name: catalogue.nativeName(locale), href: `${url.pathname}${url.search}`, current: locale === current };
    });
  };

  return {
    catalogue,
    locale: (ctx) => requestLocale(ctx, catalogue),
    t: (ctx) => catalogue.t(requestLocale(ctx, catalogue)),
    render(ctx, view, data = {}) {
      const locale = requestLocale(ctx, catalogue);
      const t = catalogue.t(locale);
      const locals = {
        ...data,
        t,
        locale,
        dir: catalogue.direction(locale),
        brand: { name: brand.name, logoUrl: theme.logoUrl },
        productName: brand.name,
        stylesheets,
        languages: languageLinks(ctx, locale, data),
        title: data.title ?? t(`${view}.title`),
      };
      const body = template(`${view}.ejs`)(locals);
      ctx.type = 'html';
      ctx.set('content-language', locale);
      ctx.vary('accept-language');
      if (!ctx.response.get('cache-control')) ctx.set('cache-control', 'no-store');
      ctx.body = template('layout.ejs')({ ...locals, body });
    },
  };
}
