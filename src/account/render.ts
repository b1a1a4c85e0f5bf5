import type { Context } from 'koa';
import type { PageData } from '../pages/render.ts';
import type { AccountConsoleDeps } from './deps.ts';
import { visitOf } from './guard.ts';

/** The console's sections that exist, in the order the navigation lists them; each area adds its page here. */
export const CONSOLE_SECTIONS: readonly string[] = ['/account/profile', '/account/security', '/account/sessions', '/account/apps', '/account/linked', '/account/data'];

/**
 * Renders `views/account/<view>.ejs` with the session's CSRF token. `title` is a catalogue key.
 * A page answering a POST names the GET page its language switch should reopen (`switchUrl`).
 */
export function renderConsole(ctx: Context, deps: AccountConsoleDeps, view: string, title: string, data: PageData = {}): void {
  const t = deps.pages.t(ctx);
  // `path` and `consoleSections` feed the sections' navigation (views/partials/account-nav.ejs).
  deps.pages.render(ctx, `account/${view}`, { csrf: visitOf(ctx).session.csrf, path: ctx.path, consoleSections: CONSOLE_SECTIONS, ...data, title: t(title) });
}

/** Dates on the console's pages, in the page's language ("2 Jun 2026", "2026/06/02"). */
export function dateFormat(deps: AccountConsoleDeps, ctx: Context): (date: Date) => string {
  const format = new Intl.DateTimeFormat(deps.pages.locale(ctx), { dateStyle: 'medium' });
  return (date) => format.format(date);
}
