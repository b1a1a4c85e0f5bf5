import type { Context, Middleware } from 'koa';
import type { InteractionDeps } from './deps.ts';
import { interactionStep, renderStep, type Step } from './step.ts';
import type { PendingSecondFactor } from './pending-second-factor.ts';
import { secondsLeft } from './federation-start.ts';
import { finishSignIn } from './after-first-factor.ts';
import { combineAmr } from '../mfa/levels.ts';
import { AppError } from '../errors.ts';

/**
 * Enrolment during sign-in (issue 13 §4): an account that must reach `mfa` and has no factor
 * sets one up before it reaches the application. Bound to the interaction's pending record
 * like the second-factor step, so no post can skip it. An authenticator app is confirmed by a
 * first code, which is itself the second factor of this sign-in; a passkey made here is then
 * used once on the second-factor page, since making one proves nothing by itself (no
 * attestation is asked for). Ten recovery codes follow either, shown once.
 */
const ceremony = (uid: string) => `enrol:${uid}`;
const codesKey = (uid: string) => `enrol-codes:${uid}`;

async function enrolling(deps: InteractionDeps, ctx: Context, step: Step): Promise<PendingSecondFactor | null> {
  const pending = await deps.pendingSecondFactors.find(step.uid);
  if (pending?.enrol) return pending;
  ctx.status = 303;
  ctx.redirect(`/interaction/${step.uid}`);
  return null;
}

const audited = async (ctx: Context, deps: InteractionDeps, accountId: string, kind: 'totp' | 'webauthn', factorId: string) => {
  await deps.audit.record({ event: 'mfa.enrolled', accountId, ip: ctx.ip, userAgent: ctx.get('user-agent') || null, details: { kind, factorId, during: 'sign-in' } });
};

/** The factor is set up: keep the recovery codes for one showing, then show them (PRG). */
async function enrolled(ctx: Context, deps: InteractionDeps, step: Step, pending: PendingSecondFactor, done: { amr: string[]; passkey: boolean }): Promise<string> {
  const codes = await deps.mfa.newRecoveryCodes(pending.accountId);
  await deps.attempts.put(codesKey(step.uid), { codes }, secondsLeft(step.details));
  await deps.pendingSecondFactors.save(step.uid, { ...pending, enrol: { done: { amr: done.amr, recoveryCodes: true }, passkey: done.passkey } }, secondsLeft(step.details));
  return `/interaction/${step.uid}/enrol`;
}

/** GET /interaction/:uid/enrol: the choice of factor, or, once one is set up, its recovery codes. */
export function showEnrol(deps: InteractionDeps): Middleware {
  return async (ctx) => {
    const step = await interactionStep(deps, ctx, { prompt: 'login' });
    const pending = await enrolling(deps, ctx, step);
    if (!pending) return;
    if (pending.enrol?.done) {
      // Shown once: a reload finds them taken and says so.
      const shown = await deps.attempts.take<{ codes: string[] }>(codesKey(step.uid));
      const recovery = shown && {
        codes: shown.codes,
        continue: { action: `/interaction/${step.uid}/enrol/done`, csrf: deps.csrf.token(step.uid), hidden: [] },
        continueLabel: deps.pages.t(ctx)('enrol.codes_saved', { client: step.client.name }),
      };
      renderStep(ctx, deps, step, 'enrol-done', { recovery });
      return;
    }
    renderStep(ctx, deps, step, 'enrol', { passkeyOnly: pending.level === 'phishing-resistant' });
  };
}

async function renderTotp(ctx: Context, deps: InteractionDeps, step: Step, pending: PendingSecondFactor, problem: string | null): Promise<void> {
  const factorId = pending.enrol?.totpFactorId;
  const shown = factorId ? await deps.mfa.totpEnrolment(pending.accountId, factorId) : null;
  if (!shown) {
    ctx.status = 303;
    ctx.redirect(`/interaction/${step.uid}/enrol`);
    return;
  }
  renderStep(ctx, deps, step, 'enrol-totp', {
    // views/partials/totp-enrol.ejs, shared with the account console; no name field in a sign-in.
    enrol: {
      action: `/interaction/${step.uid}/enrol/totp/confirm`, csrf: deps.csrf.token(step.uid), hidden: [], qr: shown.qr, uri: shown.uri, secret: shown.secret,
      name: null, problem, problemField: 'code', submitLabel: deps.pages.t(ctx)('enrol.confirm'),
    },
  });
}

/** POST /interaction/:uid/enrol/totp: a new authenticator app, shown as a QR code and as text. */
export function startTotpEnrol(deps: InteractionDeps): Middleware {
  return async (ctx) => {
    const step = await interactionStep(deps, ctx, { prompt: 'login' });
    const pending = await enrolling(deps, ctx, step);
    if (!pending) return;
    if (pending.level === 'phishing-resistant') throw new AppError('mfa.passkey_required', 'this sign-in needs a passkey');
    const account = await deps.accounts.findById(pending.accountId);
    if (!account) throw new AppError('interaction.expired', 'the account of this sign-in is gone');
    let factorId = pending.enrol?.totpFactorId;
    // A second click reuses the app being set up: the QR code already scanned stays right.
    if (!factorId || !(await deps.mfa.totpEnrolment(account.id, factorId))) {
      factorId = (await deps.mfa.enrolTotp(account.id, account.email)).factorId;
      pending.enrol = { ...pending.enrol, totpFactorId: factorId };
      await deps.pendingSecondFactors.save(step.uid, pending, secondsLeft(step.details));
    }
    await renderTotp(ctx, deps, step, pending, null);
  };
}

/** POST /interaction/:uid/enrol/totp/confirm: the first code confirms the app and is this sign-in's second factor. */
export function confirmTotpEnrol(deps: InteractionDeps): Middleware {
  return async (ctx) => {
    const step = await interactionStep(deps, ctx, { prompt: 'login' });
    const pending = await enrolling(deps, ctx, step);
    if (!pending) return;
    const factorId = pending.enrol?.totpFactorId;
    if (!factorId || pending.enrol?.done) {
      ctx.status = 303;
      ctx.redirect(`/interaction/${step.uid}/enrol`);
      return;
    }
    const outcome = await deps.mfa.confirmTotp(pending.accountId, factorId, step.fields.code ?? '');
    if (outcome !== 'ok') {
      deps.metrics?.recordSecondFactor?.('totp', 'invalid');
      ctx.status = 400;
      await renderTotp(ctx, deps, step, pending, deps.pages.t(ctx)('enrol.invalid_code'));
      return;
    }
    await audited(ctx, deps, pending.accountId, 'totp', factorId);
    const next = await enrolled(ctx, deps, step, pending, { amr: combineAmr(pending.amr, ['otp']), passkey: false });
    ctx.status = 303;
    ctx.redirect(next);
  };
}

const refuse = (ctx: Context, deps: InteractionDeps, key: string, status = 400) => {
  ctx.status = status;
  ctx.body = { error: deps.pages.t(ctx)(key) };
};

/** POST /interaction/:uid/enrol/passkey/options: options for navigator.credentials.create. */
export function enrolPasskeyOptions(deps: InteractionDeps): Middleware {
  return async (ctx) => {
    const step = await interactionStep(deps, ctx, { prompt: 'login' });
    const pending = await deps.pendingSecondFactors.find(step.uid);
    const account = pending?.enrol && !pending.enrol.done ? await deps.accounts.findById(pending.accountId) : null;
    if (!account) return refuse(ctx, deps, 'passkey.failed');
    ctx.body = await deps.webauthn.registrationOptions(ceremony(step.uid), { id: account.id, email: account.email, name: account.name });
  };
}

/** POST /interaction/:uid/enrol/passkey: the new credential; then its recovery codes. */
export function enrolPasskey(deps: InteractionDeps): Middleware {
  return async (ctx) => {
    const step = await interactionStep(deps, ctx, { prompt: 'login' });
    const pending = await deps.pendingSecondFactors.find(step.uid);
    if (!pending?.enrol || pending.enrol.done) return refuse(ctx, deps, 'passkey.failed');
    const body = (ctx.request as { body?: { response?: unknown; name?: unknown } }).body;
    const name = typeof body?.name === 'string' ? body.name : '';
    const result = await deps.webauthn.verifyRegistration(ceremony(step.uid), pending.accountId, body?.response, name);
    if (!result.ok) return refuse(ctx, deps, result.reason === 'duplicate' ? 'passkey.duplicate' : 'passkey.failed');
    await audited(ctx, deps, pending.accountId, 'webauthn', result.factorId);
    ctx.body = { location: await enrolled(ctx, deps, step, pending, { amr: pending.amr, passkey: true }) };
  };
}

/**
 * POST /interaction/:uid/enrol/done: the codes are saved. After an authenticator app the sign-in
 * is finished; after a passkey, the passkey is asked for once (second-factor page).
 */
export function finishEnrol(deps: InteractionDeps): Middleware {
  return async (ctx) => {
    const step = await interactionStep(deps, ctx, { prompt: 'login' });
    const pending = await enrolling(deps, ctx, step);
    if (!pending) return;
    const done = pending.enrol?.done;
    if (!done) {
      ctx.status = 303;
      ctx.redirect(`/interaction/${step.uid}/enrol`);
      return;
    }
    await deps.attempts.delete(codesKey(step.uid));
    if (pending.enrol?.passkey) {
      await deps.pendingSecondFactors.save(step.uid, { accountId: pending.accountId, amr: pending.amr, level: pending.level }, secondsLeft(step.details));
      ctx.status = 303;
      ctx.redirect(`/interaction/${step.uid}/second-factor`);
      return;
    }
    if ((await deps.pendingSecondFactors.take(step.uid))?.accountId !== pending.accountId) {
      ctx.status = 303;
      ctx.redirect(`/interaction/${step.uid}`);
      return;
    }
    await finishSignIn(ctx, deps, step.details, pending.accountId, done.amr);
  };
}
