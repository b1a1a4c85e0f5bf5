import type { Context, Middleware } from 'koa';
import { AppError } from '../errors.ts';
import type { AccountConsoleDeps } from './deps.ts';
import type { ConsoleSessions } from './console-session.ts';
import { actorOf } from './actor.ts';
import { clearSessionCookie } from './cookies.ts';
import { visitOf } from './guard.ts';

// A provider session's uid is oidc-provider's nanoid (21 characters); anything much longer is not one.
const MAX_UID = 64;

const uidOf = (ctx: Context): string => {
  const uid = String(ctx.params.uid ?? '');
  if (uid === '' || uid.length > MAX_UID) throw new AppError('not_found', 'this account has no such session');
  return uid;
};

/**
 * POST /account/sessions/:uid/end: signs that session out (src/sessions/service.ts). Signing out
 * the session this console session came from ends the console session too, and says so.
 */
export function endOneSession(deps: AccountConsoleDeps, consoleSessions: ConsoleSessions): Middleware {
  return async (ctx) => {
    const { account, session } = visitOf(ctx);
    const ended = await deps.deviceSessions.end(account.id, uidOf(ctx), session.sessionUid, actorOf(ctx));
    if (!ended.current) {
      ctx.status = 303;
      ctx.redirect('/account/sessions?done=ended');
      return;
    }
    await consoleSessions.end(session.id);
    clearSessionCookie(ctx, deps.issuer);
    const t = deps.pages.t(ctx);
    deps.pages.render(ctx, 'notice', {
      title: t('account.sessions.signed_out_title'),
      text: t('account.sessions.signed_out'),
      action: { href: '/account/sessions', label: t('account.sessions.sign_in_again') },
      hint: null,
      switchUrl: '/account/sessions',
    });
  };
}

/** POST /account/sessions/end-others: signs out every session of the account but this device's. */
export function endOtherSessions(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    const { account, session } = visitOf(ctx);
    await deps.deviceSessions.endOthers(account.id, session.sessionUid, actorOf(ctx));
    ctx.status = 303;
    ctx.redirect('/account/sessions?done=ended_others');
  };
}
