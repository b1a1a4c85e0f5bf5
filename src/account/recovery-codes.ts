import type { Context, Middleware } from 'koa';
import type { AccountConsoleDeps } from './deps.ts';
import type { CodesToShow } from './shown-codes.ts';
import { recordChange } from './audit.ts';
import { visitOf } from './guard.ts';
import { renderConsole } from './render.ts';

export const CODES_PAGE = '/account/security/recovery-codes';

/**
 * Ten new recovery codes for the account (every earlier one stops working), held for the page
 * that shows them once; answers where that page is.
 */
export async function issueRecoveryCodes(ctx: Context, deps: AccountConsoleDeps, codes: CodesToShow): Promise<string> {
  const { account, session } = visitOf(ctx);
  const made = await deps.mfa.newRecoveryCodes(account.id);
  await codes.hold(session.id, made);
  await recordChange(ctx, deps, 'mfa.recovery_codes_generated', { count: made.length });
  return CODES_PAGE;
}

/** GET /account/security/recovery-codes: the new codes, this once; after that, only that they were shown. */
export function showRecoveryCodes(deps: AccountConsoleDeps, codes: CodesToShow): Middleware {
  return async (ctx) => {
    const t = deps.pages.t(ctx);
    const shown = await codes.take(visitOf(ctx).session.id);
    renderConsole(ctx, deps, 'recovery-codes', 'security.codes.shown_title', {
      recovery: shown ? { codes: shown, continue: { href: '/account/security' }, continueLabel: t('security.codes.saved') } : null,
    });
  };
}

/** GET /account/security/recovery-codes/new: what making new codes does, and the button. */
export function showNewRecoveryCodes(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    const { account } = visitOf(ctx);
    if (!(await deps.mfa.hasFactor(account.id))) {
      ctx.status = 303;
      return ctx.redirect('/account/security');
    }
    renderConsole(ctx, deps, 'recovery-new', 'security.codes.new_title', { codesLeft: await deps.mfa.recoveryCodesLeft(account.id) });
  };
}

/** POST /account/security/recovery-codes: new codes replace the old; then the page that shows them. */
export function makeRecoveryCodes(deps: AccountConsoleDeps, codes: CodesToShow): Middleware {
  return async (ctx) => {
    // Codes work only beside a factor; without one there is nothing for them to stand in for.
    const next = (await deps.mfa.hasFactor(visitOf(ctx).account.id)) ? await issueRecoveryCodes(ctx, deps, codes) : '/account/security';
    ctx.status = 303;
    ctx.redirect(next);
  };
}
