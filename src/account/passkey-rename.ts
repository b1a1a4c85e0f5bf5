import type { Context, Middleware } from 'koa';
import type { AccountConsoleDeps } from './deps.ts';
import type { FactorView } from '../mfa/service.ts';
import { AppError } from '../errors.ts';
import { formFields } from '../interactions/form.ts';
import { recordChange } from './audit.ts';
import { factorName, MAX_NAME } from './factor-name.ts';
import { visitOf } from './guard.ts';
import { ownFactor } from './own-factor.ts';
import { renderConsole } from './render.ts';

function render(ctx: Context, deps: AccountConsoleDeps, factor: FactorView, name: string, problem: string | null): void {
  renderConsole(ctx, deps, 'passkey-rename', 'security.rename.title', { factor, name, problem, switchUrl: `/account/security/passkeys/${factor.id}/name` });
}

/** GET /account/security/passkeys/:id/name: the passkey's name, to change. */
export function showRenamePasskey(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    const { factor } = await ownFactor(ctx, deps, 'webauthn');
    render(ctx, deps, factor, factor.name, null);
  };
}

/** POST /account/security/passkeys/:id/name: names it as typed (one line, up to 64 characters). */
export function renamePasskey(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    const { factor } = await ownFactor(ctx, deps, 'webauthn');
    const t = deps.pages.t(ctx);
    const typed = (formFields(ctx).name ?? '').slice(0, 256);
    const name = factorName(typed, '');
    if (!name) {
      ctx.status = 400;
      return render(ctx, deps, factor, typed, name === null ? t('security.name_too_long', { max: MAX_NAME }) : t('security.rename.empty'));
    }
    if (!(await deps.webauthn.renamePasskey(visitOf(ctx).account.id, factor.id, name))) throw new AppError('not_found', 'the passkey went away');
    await recordChange(ctx, deps, 'mfa.renamed', { kind: 'webauthn', factorId: factor.id, from: factor.name, name });
    ctx.status = 303;
    ctx.redirect('/account/security?done=renamed');
  };
}
