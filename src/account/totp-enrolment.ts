import type { Context, Middleware } from 'koa';
import type { AccountConsoleDeps } from './deps.ts';
import type { PendingTotp } from './pending-totp.ts';
import type { CodesToShow } from './shown-codes.ts';
import { formFields } from '../interactions/form.ts';
import { recordChange } from './audit.ts';
import { factorName, MAX_NAME } from './factor-name.ts';
import { visitOf } from './guard.ts';
import { issueRecoveryCodes } from './recovery-codes.ts';
import { renderConsole } from './render.ts';

const PAGE = '/account/security/totp';

type Enrolment = { factorId: string; secret: string; uri: string; qr: string };

/**
 * The enrolment this account has under way, shown again, else a new one. Older unconfirmed
 * apps (a closed tab, an expired page) can never sign in; they are removed first, so they do
 * not pile up.
 */
async function currentEnrolment(ctx: Context, deps: AccountConsoleDeps, pending: PendingTotp): Promise<Enrolment> {
  const { account } = visitOf(ctx);
  const factorId = await pending.find(account.id);
  const reopened = factorId ? await deps.mfa.totpEnrolment(account.id, factorId, account.email) : null;
  if (reopened) return reopened;
  for (const factor of await deps.mfa.listFactors(account.id)) {
    if (factor.kind === 'totp' && !factor.confirmed) await deps.mfa.removeFactor(account.id, factor.id);
  }
  const started = await deps.mfa.enrolTotp(account.id, account.email, deps.pages.t(ctx)('security.totp.default_name'));
  await pending.save(account.id, started.factorId);
  return started;
}

function renderEnrolment(ctx: Context, deps: AccountConsoleDeps, enrolment: Enrolment, form: { name: string; problem: string | null; problemField?: 'code' | 'name' }): void {
  const t = deps.pages.t(ctx);
  renderConsole(ctx, deps, 'totp', 'security.totp.title', {
    switchUrl: PAGE,
    enrol: {
      action: PAGE, csrf: visitOf(ctx).session.csrf, hidden: [],
      qr: enrolment.qr, uri: enrolment.uri, secret: enrolment.secret,
      name: form.name, problem: form.problem, problemField: form.problemField ?? 'code',
      submitLabel: t('security.totp.submit'),
    },
  });
}

/** GET /account/security/totp: the QR code and the secret as text, a name, the first code. */
export function showTotpEnrolment(deps: AccountConsoleDeps, pending: PendingTotp): Middleware {
  return async (ctx) => {
    renderEnrolment(ctx, deps, await currentEnrolment(ctx, deps, pending), { name: '', problem: null });
  };
}

/**
 * POST /account/security/totp: the first code confirms the app (and is used up). A wrong code
 * shows the same secret again. The account's first factor brings its recovery codes.
 */
export function confirmTotpEnrolment(deps: AccountConsoleDeps, pending: PendingTotp, codes: CodesToShow): Middleware {
  return async (ctx) => {
    const { account } = visitOf(ctx);
    const t = deps.pages.t(ctx);
    const fields = formFields(ctx);
    const typed = (fields.name ?? '').slice(0, 256);
    const factorId = await pending.find(account.id);
    const enrolment = factorId ? await deps.mfa.totpEnrolment(account.id, factorId, account.email) : null;
    if (!enrolment) {
      ctx.status = 400;
      return renderEnrolment(ctx, deps, await currentEnrolment(ctx, deps, pending), { name: typed, problem: t('security.totp.expired') });
    }
    const name = factorName(typed, t('security.totp.default_name'));
    if (name === null) {
      ctx.status = 400;
      return renderEnrolment(ctx, deps, enrolment, { name: typed, problem: t('security.name_too_long', { max: MAX_NAME }), problemField: 'name' });
    }
    const hadFactor = await deps.mfa.hasFactor(account.id);
    const result = await deps.mfa.confirmTotp(account.id, enrolment.factorId, fields.code ?? '');
    if (result !== 'ok') {
      await recordChange(ctx, deps, 'mfa.failed', { kind: 'totp', factorId: enrolment.factorId, step: 'enrolment', outcome: result });
      ctx.status = 400;
      return renderEnrolment(ctx, deps, enrolment, { name: typed, problem: t(result === 'malformed' ? 'security.totp.malformed' : 'security.totp.invalid') });
    }
    await deps.mfa.renameFactor(account.id, enrolment.factorId, name);
    await pending.drop(account.id);
    await recordChange(ctx, deps, 'mfa.enrolled', { kind: 'totp', factorId: enrolment.factorId, name });
    ctx.status = 303;
    ctx.redirect(hadFactor ? '/account/security?done=app_added' : await issueRecoveryCodes(ctx, deps, codes));
  };
}
