import type { Context, Middleware } from 'koa';
import type { AccountConsoleDeps } from './deps.ts';
import type { ConsoleSessions } from './console-session.ts';
import { ACCOUNT_CLIENT_ID, accountCallbackUrl } from './client.ts';
import { readBrowserId, readSessionCookie, setSessionCookie } from './cookies.ts';
import { redeemCode, type Redemption } from './redeem-code.ts';
import { refuseSignIn } from './refuse.ts';
import { CONSOLE_HOME } from './return-path.ts';
import { attemptKey, type SignInAttempt } from './sign-in-start.ts';
import { noteForLog } from '../http/request-context.ts';

const STATE = /^[A-Za-z0-9_-]{43}$/;
// OAuth error codes are this shape (RFC 6749 §4.1.2.1); anything else is not echoed.
const OAUTH_ERROR = /^[a-z_]{1,64}$/;

const redeemedKey = (jti: string) => `account:code:${jti}`;

/**
 * A code that comes back after it was redeemed has a copy somewhere else: as the token
 * endpoint would (RFC 6749 §4.1.2), everything it granted ends: the provider's grant for the
 * console, and the console session made from it.
 */
async function endReplayed(ctx: Context, deps: AccountConsoleDeps, sessions: ConsoleSessions, replay: Extract<Redemption, { reason: 'reused' }>): Promise<void> {
  const grant = replay.grantId ? await deps.provider.Grant.find(replay.grantId) : undefined;
  await grant?.destroy();
  const redeemed = await deps.attempts.take<{ sessionId: string }>(redeemedKey(replay.jti));
  if (redeemed) await sessions.end(redeemed.sessionId);
  deps.logger.warn({ id: ctx.state.requestId, clientId: ACCOUNT_CLIENT_ID, accountId: replay.accountId, grantId: replay.grantId }, 'token replay detected: account console code reused');
  await deps.audit.record({
    event: 'token.replay_detected',
    reason: 'authorization_code_reused',
    accountId: replay.accountId,
    ip: ctx.ip,
    userAgent: ctx.get('user-agent') || null,
    details: { clientId: ACCOUNT_CLIENT_ID, grantId: replay.grantId, token: 'authorization_code' },
  });
}

/**
 * GET /account/callback: where /auth sends the browser back. The state must be one this
 * browser started (taken once); the code is then redeemed in-process (src/account/redeem-code.ts)
 * and a console session begins. Every failure is a page that says what happened and offers to
 * try again, never a 500.
 */
export function accountCallback(deps: AccountConsoleDeps, sessions: ConsoleSessions): Middleware {
  return async (ctx) => {
    const state = typeof ctx.query.state === 'string' && STATE.test(ctx.query.state) ? ctx.query.state : null;
    const attempt = state ? await deps.attempts.take<SignInAttempt>(attemptKey(state)) : null;
    const again = attempt?.returnTo ?? CONSOLE_HOME;
    const error = ctx.query.error;
    if (error !== undefined) {
      const code = typeof error === 'string' && OAUTH_ERROR.test(error) ? error : 'unknown';
      return refuseSignIn(ctx, deps.pages, 'console.sign_in_denied', `the sign-in ended with ${code}`, again);
    }
    if (!attempt || attempt.browser !== readBrowserId(ctx)) {
      return refuseSignIn(ctx, deps.pages, 'console.sign_in_expired', 'the sign-in is unknown, expired, already finished or was started in another browser', again);
    }
    const result = await redeemCode(deps.provider, ctx.query.code, {
      clientId: ACCOUNT_CLIENT_ID, redirectUri: accountCallbackUrl(deps.issuer), verifier: attempt.verifier, nonce: attempt.nonce,
    });
    if (!result.ok) {
      if (result.reason === 'reused') await endReplayed(ctx, deps, sessions, result);
      return refuseSignIn(ctx, deps.pages, 'console.sign_in_invalid', result.detail, again);
    }
    // A browser signed in again (a fresh sign-in for a change) gets a new session id.
    const previous = readSessionCookie(ctx);
    if (previous) await sessions.end(previous);
    // auth_time is oidc-provider's clock; its age now, carried over to the console's clock.
    const age = Math.max(0, Date.now() - result.authTime * 1000);
    const session = await sessions.create({
      accountId: result.accountId,
      authTime: result.authTime,
      authenticatedAt: deps.clock.now() - age,
      amr: result.amr,
      acr: result.acr,
      sessionUid: result.sessionUid,
    });
    await deps.attempts.put(redeemedKey(result.jti), { sessionId: session.id }, deps.config.ttl.authorizationCode);
    setSessionCookie(ctx, deps.issuer, session.id);
    noteForLog(ctx, { clientId: ACCOUNT_CLIENT_ID, accountId: result.accountId });
    ctx.status = 303;
    ctx.redirect(attempt.returnTo);
  };
}
