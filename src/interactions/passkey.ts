import type { Context, Middleware } from 'koa';
import type { InteractionDeps } from './deps.ts';
import { interactionStep, type Step } from './step.ts';
import { requestContext } from './request.ts';
import { finishSignInUrl } from './after-first-factor.ts';
import { combineAmr } from '../mfa/levels.ts';
import { AppError } from '../errors.ts';
import { errorCodes } from '../error-codes.ts';

/**
 * The passkey ceremonies of a sign-in, as JSON for views/passkey.js: on the login page a
 * passkey is the whole sign-in (discoverable credential, user verification required), on the
 * second-factor page it follows the first step (the account's own credentials only). The
 * challenge is kept server-side under this interaction and used once (src/mfa/webauthn.ts).
 */
const ceremony = (uid: string) => `interaction:${uid}`;

/** Answers the script in JSON, also when the step itself is refused (expired, wrong prompt, CSRF). */
function json(deps: InteractionDeps, handler: (ctx: Context, step: Step) => Promise<void>): Middleware {
  return async (ctx) => {
    let step: Step;
    try {
      step = await interactionStep(deps, ctx, { prompt: 'login' });
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      ctx.status = error.status;
      const key = errorCodes[error.code].key;
      ctx.body = { error: `${deps.pages.t(ctx)(`${key}.title`, error.params)}. ${deps.pages.t(ctx)(`${key}.text`, error.params)}` };
      return;
    }
    await handler(ctx, step);
  };
}

const refuse = (ctx: Context, deps: InteractionDeps, key: string, status = 400) => {
  ctx.status = status;
  ctx.body = { error: deps.pages.t(ctx)(key) };
};

/** POST /interaction/:uid/passkey/options: the options for navigator.credentials.get. */
export function passkeyOptions(deps: InteractionDeps): Middleware {
  return json(deps, async (ctx, step) => {
    const pending = await deps.pendingSecondFactors.find(step.uid);
    if (pending?.enrol) return refuse(ctx, deps, 'passkey.failed');
    ctx.body = await deps.webauthn.authenticationOptions(ceremony(step.uid), pending?.accountId ?? null);
  });
}

/** POST /interaction/:uid/passkey: the assertion; answers where the browser goes next. */
export function passkeySignIn(deps: InteractionDeps): Middleware {
  return json(deps, async (ctx, step) => {
    const response = (ctx.request as { body?: { response?: unknown } }).body?.response;
    const pending = await deps.pendingSecondFactors.find(step.uid);
    const where = { ip: ctx.ip, userAgent: ctx.get('user-agent') || null };
    if (pending && !pending.enrol) {
      const account = await deps.accounts.findById(pending.accountId);
      if (!account) return refuse(ctx, deps, 'passkey.failed');
      let amr: string[] = [];
      const outcome = await deps.signIn.verifyPasskeyStep(account, async () => {
        const result = await deps.webauthn.verifyAuthentication(ceremony(step.uid), response, account.id);
        if (result.ok) amr = result.amr;
        return result.ok;
      }, requestContext(ctx));
      if (!outcome.ok) return refuse(ctx, deps, outcome.reason === 'rate_limited' ? 'passkey.rate_limited' : 'passkey.failed', outcome.reason === 'rate_limited' ? 429 : 400);
      if ((await deps.pendingSecondFactors.take(step.uid))?.accountId !== account.id) return refuse(ctx, deps, 'passkey.failed');
      ctx.body = { location: await finishSignInUrl(ctx, deps, step.details, account.id, combineAmr(pending.amr, amr)) };
      return;
    }
    // Passwordless: the credential names the account; user verification made it two factors.
    const result = await deps.webauthn.verifyAuthentication(ceremony(step.uid), response, null);
    const account = result.ok ? await deps.accounts.findById(result.accountId) : null;
    if (!result.ok || !account || account.disabled) {
      await deps.audit.record({ event: 'login.failed', reason: result.ok ? 'disabled' : `passkey_${result.reason}`, accountId: result.ok ? result.accountId : undefined, ...where });
      deps.metrics?.recordLogin('passkey', 'invalid');
      return refuse(ctx, deps, 'passkey.failed');
    }
    if (deps.requireVerifiedEmail && !account.emailVerified) {
      await deps.audit.record({ event: 'login.failed', reason: 'email_unverified', accountId: account.id, email: account.email, ...where });
      deps.metrics?.recordLogin('passkey', 'email_unverified');
      return refuse(ctx, deps, 'passkey.verify_email', 403);
    }
    await deps.audit.record({ event: 'login.succeeded', accountId: account.id, email: account.email, details: { method: 'passkey' }, ...where });
    deps.metrics?.recordLogin('passkey', 'success');
    ctx.body = { location: await finishSignInUrl(ctx, deps, step.details, account.id, result.amr) };
  });
}
