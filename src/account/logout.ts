import type { Middleware } from 'koa';
import { AppError } from '../errors.ts';
import { formFields } from '../interactions/form.ts';
import type { AccountConsoleDeps } from './deps.ts';
import { csrfMatches, type ConsoleSessions } from './console-session.ts';
import { ACCOUNT_CLIENT_ID } from './client.ts';
import { clearSessionCookie, readSessionCookie } from './cookies.ts';

/**
 * POST /account/logout: ends the console session here (its CSRF token checked), then continues
 * to the provider's RP-initiated logout (OpenID RP-Initiated Logout §2), which asks whether to
 * sign out of the provider as well and names the console as the one asking. Without a console
 * session (it ended in another tab) there is nothing to end here, so it only continues: the
 * provider's page asks before it changes anything.
 */
export function consoleLogout(deps: AccountConsoleDeps, sessions: ConsoleSessions): Middleware {
  return async (ctx) => {
    const session = await sessions.find(readSessionCookie(ctx));
    if (session) {
      if (!csrfMatches(session, formFields(ctx).csrf)) throw new AppError('request.csrf', 'the form\'s CSRF token does not match the console session');
      await sessions.end(session.id);
    }
    clearSessionCookie(ctx, deps.issuer);
    const url = new URL(deps.provider.urlFor('end_session'));
    url.searchParams.set('client_id', ACCOUNT_CLIENT_ID);
    ctx.status = 303;
    ctx.redirect(url.href);
  };
}
