import type { Context } from 'koa';
import type { ChangeContext } from '../accounts/change-context.ts';
import type { AccountConsoleDeps } from './deps.ts';

/** This browser, through the console, in the page's language (the mails a change causes use it). */
export const consoleChange = (ctx: Context, deps: AccountConsoleDeps): ChangeContext => ({
  ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined, locale: deps.pages.locale(ctx), via: 'account_console',
});
