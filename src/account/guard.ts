import type { Context, Middleware, Next } from 'koa';
import type { Account } from '../accounts/repository.ts';
import { AppError } from '../errors.ts';
import { noteForLog } from '../http/request-context.ts';
import { setLocaleHints } from '../i18n/request-locale.ts';
import { formFields } from '../interactions/form.ts';
import type { AccountConsoleDeps } from './deps.ts';
import { csrfMatches, isFresh, type ConsoleSession, type ConsoleSessions } from './console-session.ts';
import { ACCOUNT_CLIENT_ID } from './client.ts';
import { clearSessionCookie, readSessionCookie } from './cookies.ts';
import { jsonFields, jsonRefusal } from './json.ts';
import { CONSOLE_HOME, consoleReturnPath } from './return-path.ts';
import { startSignIn } from './sign-in-start.ts';

/** Who is signed in to the console on this request (set by `signedIn`). */
export interface ConsoleVisit {
  session: ConsoleSession;
  account: Account;
}

export const visitOf = (ctx: Context): ConsoleVisit => ctx.state.console as ConsoleVisit;

type Answer = 'page' | 'json';

/**
 * The live console session of this browser, or null. It ends (and stops being one) when the
 * account is gone or disabled, when the account's sessions were revoked after it began (password
 * reset, "sign out everywhere"), and when the provider session it came from has ended or now
 * belongs to someone else: the console never outlives the sign-in it was made from.
 */
async function liveVisit(ctx: Context, deps: AccountConsoleDeps, sessions: ConsoleSessions): Promise<ConsoleVisit | null> {
  const session = await sessions.find(readSessionCookie(ctx));
  if (!session) return null;
  const account = await deps.accounts.findById(session.accountId);
  const revoked = !account || account.disabled || (account.sessionsValidAfter !== null && session.authTime < Math.floor(account.sessionsValidAfter / 1000));
  const origin = !revoked && session.sessionUid ? await deps.provider.Session.findByUid(session.sessionUid) : undefined;
  if (revoked || (session.sessionUid && origin?.accountId !== session.accountId)) {
    await sessions.end(session.id);
    clearSessionCookie(ctx, deps.issuer);
    return null;
  }
  await sessions.touch(session);
  return { session, account: account! };
}

/**
 * Every console route but the callback starts here. Without a session a page is first signed
 * in to (and comes back to where it was, for a GET); a JSON call is told the session ended.
 */
export function signedIn(deps: AccountConsoleDeps, sessions: ConsoleSessions, answer: Answer): Middleware {
  return async (ctx: Context, next: Next) => {
    const visit = await liveVisit(ctx, deps, sessions);
    if (!visit) {
      if (answer === 'json') return jsonRefusal(ctx, deps.pages, 'console.signed_out');
      const back = ctx.method === 'GET' ? consoleReturnPath(ctx.originalUrl) : null;
      return startSignIn(ctx, deps, back ?? CONSOLE_HOME, { reauth: false });
    }
    ctx.state.console = visit;
    noteForLog(ctx, { clientId: ACCOUNT_CLIENT_ID, accountId: visit.account.id });
    setLocaleHints(ctx, { claim: visit.account.locale });
    await next();
  };
}

/** Every POST: the session's synchroniser token, from the form or the JSON body. */
export function sameSession(deps: AccountConsoleDeps, answer: Answer): Middleware {
  return async (ctx: Context, next: Next) => {
    const token = answer === 'json' ? jsonFields(ctx).csrf : formFields(ctx).csrf;
    if (!csrfMatches(visitOf(ctx).session, token)) {
      if (answer === 'json') return jsonRefusal(ctx, deps.pages, 'request.csrf', 'the CSRF token does not match the console session');
      throw new AppError('request.csrf', 'the form\'s CSRF token does not match the console session');
    }
    await next();
  };
}

/**
 * Adding or removing a factor (and new recovery codes) needs a recent sign-in: older than
 * ACCOUNT_REAUTH_SECONDS, the person signs in again first (password, then second factor) and
 * comes back to `returnTo`, the page that begins the action, to send it again.
 */
export function freshSignIn(deps: AccountConsoleDeps, answer: Answer, returnTo: (ctx: Context) => string = (ctx) => ctx.originalUrl): Middleware {
  return async (ctx: Context, next: Next) => {
    if (isFresh(visitOf(ctx).session, deps.clock, deps.config.account.reauthSeconds)) return next();
    if (answer === 'json') return jsonRefusal(ctx, deps.pages, 'console.reauth_required');
    await startSignIn(ctx, deps, consoleReturnPath(returnTo(ctx)) ?? CONSOLE_HOME, { reauth: true });
  };
}
