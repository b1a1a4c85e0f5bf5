import type { Context, Middleware } from 'koa';
import type { AccountConsoleDeps } from './deps.ts';
import type { CodesToShow } from './shown-codes.ts';
import { recordChange } from './audit.ts';
import { factorName, MAX_NAME } from './factor-name.ts';
import { visitOf } from './guard.ts';
import { jsonAnswer, jsonFields, jsonProblem } from './json.ts';
import { issueRecoveryCodes } from './recovery-codes.ts';
import { renderConsole } from './render.ts';

/** One ceremony per console session: new options replace the last (src/mfa/webauthn.ts). */
const ceremonyOf = (ctx: Context) => `account:${visitOf(ctx).session.id}`;

/** GET /account/security/passkeys/new: a name and the button that starts the browser's dialog. */
export function showPasskeyEnrolment(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    renderConsole(ctx, deps, 'passkey-new', 'security.passkeys.new_title', { name: '' });
  };
}

/**
 * POST /account/security/passkeys/new: the form's own submit, which only happens when the
 * passkey script did not take it over (no JavaScript, or no WebAuthn in this browser).
 */
export function passkeyNeedsScript(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    const t = deps.pages.t(ctx);
    deps.pages.render(ctx, 'notice', {
      title: t('security.passkeys.needs_script_title'),
      text: t('security.passkeys.needs_script'),
      action: { href: '/account/security', label: t('account.back') },
      hint: null,
      switchUrl: '/account/security/passkeys/new',
    });
  };
}

/** POST /account/security/passkeys/options (JSON): the creation options for this account. */
export function passkeyOptions(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    const { account } = visitOf(ctx);
    jsonAnswer(ctx, await deps.webauthn.registrationOptions(ceremonyOf(ctx), { id: account.id, email: account.email, name: account.name }));
  };
}

/**
 * POST /account/security/passkeys (JSON): the browser's answer, verified against the ceremony;
 * answers where to go next (the recovery codes, when this is the account's first factor).
 */
export function registerPasskey(deps: AccountConsoleDeps, codes: CodesToShow): Middleware {
  return async (ctx) => {
    const { account } = visitOf(ctx);
    const t = deps.pages.t(ctx);
    const body = jsonFields(ctx);
    const name = factorName(body.name, t('security.passkeys.default_name'));
    if (name === null) return jsonProblem(ctx, 400, t('security.name_too_long', { max: MAX_NAME }));
    const hadFactor = await deps.mfa.hasFactor(account.id);
    const result = await deps.webauthn.verifyRegistration(ceremonyOf(ctx), account.id, body.response, name);
    if (!result.ok) {
      await recordChange(ctx, deps, 'mfa.failed', { kind: 'webauthn', step: 'enrolment', outcome: result.reason });
      return jsonProblem(ctx, result.reason === 'duplicate' ? 409 : 400, t(`security.passkeys.failed_${result.reason}`));
    }
    await recordChange(ctx, deps, 'mfa.enrolled', { kind: 'webauthn', factorId: result.factorId, name });
    jsonAnswer(ctx, { location: hadFactor ? '/account/security?done=passkey_added' : await issueRecoveryCodes(ctx, deps, codes) });
  };
}
