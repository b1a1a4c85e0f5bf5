import type { Middleware } from 'koa';
import type { AccountConsoleDeps } from './deps.ts';
import { browserWords } from './browser-words.ts';
import { ACCOUNT_CLIENT_ID } from './client.ts';
import { visitOf } from './guard.ts';
import { renderConsole } from './render.ts';
import { timeFormat } from './time-format.ts';

/** What the page can say was just done (`?done=`): only these, so a link cannot put words on it. */
const DONE = new Set(['ended', 'ended_others']);

/**
 * GET /account/sessions: every signed-in provider session of the account, with its browser,
 * address, first and last use and the applications signed in through it; "this device" for the
 * one this console session came from; a sign-out for each, and for all the others at once.
 */
export function showSessions(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    const { account, session } = visitOf(ctx);
    const t = deps.pages.t(ctx);
    const time = timeFormat(deps, ctx);
    const sessions = await deps.deviceSessions.list(account.id, session.sessionUid);
    const clientIds = [...new Set(sessions.flatMap((shown) => shown.clients))].filter((id) => id !== ACCOUNT_CLIENT_ID);
    // One name per application, however many sessions signed in to it.
    const names = new Map(await Promise.all(clientIds.map(async (id) => {
      const client = await deps.provider.Client.find(id).catch(() => undefined);
      return [id, client?.clientName || id] as const;
    })));
    const list = new Intl.ListFormat(deps.pages.locale(ctx), { type: 'unit' });
    const done = typeof ctx.query.done === 'string' && DONE.has(ctx.query.done) ? ctx.query.done : null;
    renderConsole(ctx, deps, 'sessions', 'account.sessions.title', {
      sessions: sessions.map((shown) => ({
        uid: shown.uid,
        current: shown.current,
        browser: browserWords(t, shown.userAgent),
        ip: shown.ip,
        firstUsed: shown.firstUsedAt ? time(shown.firstUsedAt) : null,
        lastUsed: shown.lastUsedAt ? time(shown.lastUsedAt) : null,
        apps: shown.clients.filter((id) => id !== ACCOUNT_CLIENT_ID).map((id) => names.get(id) ?? id),
      })),
      list: (items: string[]) => list.format(items),
      others: sessions.some((shown) => !shown.current),
      notice: done ? t(`account.sessions.done.${done}`) : null,
    });
  };
}
