import type { Context, Middleware } from 'koa';
import type { AccountConsoleDeps } from './deps.ts';
import type { FactorView } from '../mfa/service.ts';
import { recordChange } from './audit.ts';
import { visitOf } from './guard.ts';
import { ownFactor } from './own-factor.ts';
import { renderConsole } from './render.ts';

export const removePage = (ctx: Context): string => `/account/security/factors/${encodeURIComponent(String(ctx.params.id))}/remove`;

/** The last factor of an account that must keep one (MFA_REQUIRED, a role: src/mfa/policy.ts) stays. */
async function mustKeep(ctx: Context, deps: AccountConsoleDeps, last: boolean): Promise<boolean> {
  return last && deps.mfaPolicy.factorRequired(visitOf(ctx).account.id);
}

/** `refused`: false, or why not: the policy's last factor, or the account's last way to sign in. */
function render(ctx: Context, deps: AccountConsoleDeps, factor: FactorView, last: boolean, refused: boolean | 'last_way'): void {
  if (refused) ctx.status = 409;
  renderConsole(ctx, deps, 'remove', 'security.remove.title', { factor, last, refused, switchUrl: removePage(ctx) });
}

/** GET /account/security/factors/:id/remove: what removing it means, and the button (or why not). */
export function showRemoveFactor(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    const { factor, last } = await ownFactor(ctx, deps);
    render(ctx, deps, factor, last, await mustKeep(ctx, deps, last));
  };
}

/** POST /account/security/factors/:id/remove: removes it, unless it is the last one the account must keep. */
export function removeFactor(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    const { factor, last } = await ownFactor(ctx, deps);
    const accountId = visitOf(ctx).account.id;
    const keepOne = await deps.mfaPolicy.factorRequired(accountId);
    if (keepOne && last) return render(ctx, deps, factor, last, true);
    // Recovery codes stay, but only sign in beside a factor; a new first factor replaces them.
    // Where one must stay, the check and the delete are one locked step (two tabs removing the
    // last two factors at once leave one).
    // A passkey may be the account's only way in (no password, no upstream): then it stays, by
    // the same rule and lock as unlinking an upstream account (src/federation/account-links.ts).
    if (factor.kind === 'webauthn') {
      const removed = await deps.accountLinks.removePasskey(accountId, factor.id);
      if (removed === 'last_way') return render(ctx, deps, factor, last, 'last_way');
      if (removed === 'deleted') await recordChange(ctx, deps, 'mfa.removed', { kind: factor.kind, factorId: factor.id, name: factor.name });
      ctx.status = 303;
      ctx.redirect('/account/security?done=removed');
      return;
    }
    const outcome = keepOne ? await deps.mfa.removeFactorKeepingOne(accountId, factor.id) : ((await deps.mfa.removeFactor(accountId, factor.id)) ? 'deleted' : 'missing');
    if (outcome === 'last') return render(ctx, deps, factor, true, true);
    if (outcome === 'deleted') await recordChange(ctx, deps, 'mfa.removed', { kind: factor.kind, factorId: factor.id, name: factor.name });
    ctx.status = 303;
    ctx.redirect('/account/security?done=removed');
  };
}
