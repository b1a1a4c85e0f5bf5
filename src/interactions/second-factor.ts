import type { Context, Middleware } from 'koa';
import type { InteractionDeps } from './deps.ts';
import { requestContext } from './request.ts';
import { interactionStep, renderStep, type Step } from './step.ts';
import { RateLimitedError, waitText } from '../security/rate-limits.ts';
import type { PendingSecondFactor } from './pending-second-factor.ts';
import { finishSignIn, finishSignInUrl } from './after-first-factor.ts';
import { combineAmr } from '../mfa/levels.ts';
import { trustBrowser } from './trusted-browser.ts';

export type FactorMethod = 'passkey' | 'totp' | 'recovery';

const backToLogin = (ctx: Context, uid: string) => {
  ctx.status = 303;
  ctx.redirect(`/interaction/${uid}`);
};

/**
 * The ways this account can finish this sign-in, the last used first (issue 13 §2). A
 * phishing-resistant level takes a passkey only; codes can be relayed by a look-alike site.
 */
export async function methodsFor(deps: InteractionDeps, pending: PendingSecondFactor): Promise<FactorMethod[]> {
  const factors = (await deps.mfa.listFactors(pending.accountId)).filter((factor) => factor.confirmed);
  const lastUsed = (kind: string) => Math.max(0, ...factors.filter((factor) => factor.kind === kind).map((factor) => factor.lastUsedAt?.getTime() ?? 0));
  const methods: FactorMethod[] = [];
  if (factors.some((factor) => factor.kind === 'webauthn')) methods.push('passkey');
  if (pending.level !== 'phishing-resistant') {
    if (factors.some((factor) => factor.kind === 'totp')) methods.push('totp');
    if (await deps.mfa.recoveryCodesLeft(pending.accountId) > 0) methods.push('recovery');
  }
  const order = { passkey: lastUsed('webauthn'), totp: lastUsed('totp'), recovery: 0 };
  return methods.sort((a, b) => order[b] - order[a]);
}

async function renderSecondFactor(ctx: Context, deps: InteractionDeps, step: Step, pending: PendingSecondFactor, asked: string | undefined, problem: string | null): Promise<void> {
  const methods = await methodsFor(deps, pending);
  const method = methods.find((candidate) => candidate === asked) ?? methods[0];
  if (!method) {
    // A phishing-resistant request from an account without a passkey: nothing here can finish it.
    renderStep(ctx, deps, step, 'passkey-required', {});
    return;
  }
  renderStep(ctx, deps, step, 'second-factor', {
    problem, method, methods,
    // Offered only where the operator enabled it and never for a phishing-resistant level.
    offerTrust: deps.mfaTrustBrowserDays > 0 && pending.level !== 'phishing-resistant',
    trustDays: deps.mfaTrustBrowserDays,
  });
}

/** GET /interaction/:uid/second-factor: a passkey, an authenticator-app code or a recovery code. */
export function showSecondFactor(deps: InteractionDeps): Middleware {
  return async (ctx) => {
    const step = await interactionStep(deps, ctx, { prompt: 'login' });
    const pending = await deps.pendingSecondFactors.find(step.uid);
    if (!pending || pending.enrol) return backToLogin(ctx, step.uid);
    await renderSecondFactor(ctx, deps, step, pending, typeof ctx.query.method === 'string' ? ctx.query.method : undefined, null);
  };
}

/**
 * POST /interaction/:uid/second-factor: an authenticator-app code or a recovery code (no
 * JavaScript needed). Only an interaction whose first step succeeded has a pending record; the
 * right code takes it (once) and finishes the login prompt with both methods in `amr` (RFC 8176).
 */
export function submitSecondFactor(deps: InteractionDeps): Middleware {
  return async (ctx) => {
    const step = await interactionStep(deps, ctx, { prompt: 'login' });
    const pending = await deps.pendingSecondFactors.find(step.uid);
    const account = pending && !pending.enrol ? await deps.accounts.findById(pending.accountId) : null;
    if (!pending || !account) return backToLogin(ctx, step.uid);
    const method = step.fields.method === 'recovery' ? 'recovery' : 'totp';
    if (!(await methodsFor(deps, pending)).includes(method)) {
      ctx.status = 400;
      await renderSecondFactor(ctx, deps, step, pending, undefined, deps.pages.t(ctx)('second-factor.method_not_allowed'));
      return;
    }
    const result = await deps.signIn.verifySecondFactor(account, method, step.fields.code ?? '', requestContext(ctx));
    if (!result.ok) {
      if (result.reason === 'rate_limited') {
        throw new RateLimitedError(`Too many failed sign-ins from your network. Try again in ${waitText(result.retryAfterSeconds)}.`, result.retryAfterSeconds);
      }
      ctx.status = 400;
      await renderSecondFactor(ctx, deps, step, pending, method, deps.pages.t(ctx)(`second-factor.invalid_${method}`));
      return;
    }
    if ((await deps.pendingSecondFactors.take(step.uid))?.accountId !== account.id) return backToLogin(ctx, step.uid);
    if (step.fields.trust === 'yes' && pending.level !== 'phishing-resistant') trustBrowser(ctx, deps, account.id);
    const amr = combineAmr(pending.amr, ['otp']);
    if (method === 'recovery') {
      // Says how many are left and suggests new ones before going on (issue 13 §1).
      const left = await deps.mfa.recoveryCodesLeft(account.id);
      deps.logger.info({ event: 'mfa.recovery_code_used', accountId: account.id, left, id: ctx.state.requestId }, 'recovery code used');
      const returnTo = await finishSignInUrl(ctx, deps, step.details, account.id, amr);
      renderStep(ctx, deps, step, 'recovery-used', { left, returnTo });
      return;
    }
    await finishSignIn(ctx, deps, step.details, account.id, amr);
  };
}
