import type { Context } from 'koa';
import type { AccountConsoleDeps } from './deps.ts';

/**
 * Moments on the console's pages, in the page's language and with the zone named ("2 Jun 2026,
 * 09:00 UTC"): the pages work without JavaScript, so the server cannot know the reader's zone
 * and says which one it used. `iso` is for the `<time datetime>` attribute.
 */
export function timeFormat(deps: AccountConsoleDeps, ctx: Context): (date: Date) => { text: string; iso: string } {
  const format = new Intl.DateTimeFormat(deps.pages.locale(ctx), {
    year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'UTC', timeZoneName: 'short',
  });
  return (date) => ({ text: format.format(date), iso: date.toISOString() });
}
