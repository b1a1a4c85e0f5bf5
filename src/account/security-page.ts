import type { Middleware } from 'koa';
import type { AccountConsoleDeps } from './deps.ts';
import { isFresh } from './console-session.ts';
import { visitOf } from './guard.ts';
import { dateFormat, renderConsole } from './render.ts';
import { recentActivity } from './activity.ts';

/** What the page can say was just done (`?done=`): only these, so a link cannot put words on it. */
const DONE = new Set(['app_added', 'passkey_added', 'renamed', 'removed']);

/**
 * GET /account/security: the person's second factors (authenticator apps and passkeys, with
 * when each was added and last used, and whether a passkey is synced), how many recovery codes
 * are left, and the ways to add, rename and remove them; then the account's recent security events.
 */
export function showSecurity(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    const { account, session } = visitOf(ctx);
    const t = deps.pages.t(ctx);
    const date = dateFormat(deps, ctx);
    // Unconfirmed ones are enrolments in progress, which cannot sign in yet.
    const factors = (await deps.mfa.listFactors(account.id)).filter((factor) => factor.confirmed);
    const shown = (factor: (typeof factors)[number]) => ({
      id: factor.id,
      name: factor.name,
      added: date(factor.createdAt),
      lastUsed: factor.lastUsedAt ? date(factor.lastUsedAt) : null,
      // Backed up now (synced, WebAuthn §6.1.3 BS flag); unknown for older records.
      synced: factor.backedUp ?? null,
    });
    const done = typeof ctx.query.done === 'string' && DONE.has(ctx.query.done) ? ctx.query.done : null;
    renderConsole(ctx, deps, 'security', 'security.title', {
      email: account.email,
      apps: factors.filter((factor) => factor.kind === 'totp').map(shown),
      passkeys: factors.filter((factor) => factor.kind === 'webauthn').map(shown),
      hasFactor: factors.length > 0,
      codesLeft: await deps.mfa.recoveryCodesLeft(account.id),
      fresh: isFresh(session, deps.clock, deps.config.account.reauthSeconds),
      reauthMinutes: Math.max(1, Math.round(deps.config.account.reauthSeconds / 60)),
      notice: done ? t(`security.done.${done}`) : null,
      activity: await recentActivity(ctx, deps, account),
    });
  };
}
