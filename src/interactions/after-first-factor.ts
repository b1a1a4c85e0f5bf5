import type { Context } from 'koa';
import type { InteractionDeps } from './deps.ts';
import type { InteractionDetails } from './step.ts';
import type { PendingSecondFactor } from './pending-second-factor.ts';
import { secondsLeft } from './federation-start.ts';
import { acrFor, atLeast, combineAmr, levelOf, type Level } from '../mfa/levels.ts';
import { acrRequestOf, neededLevel } from '../mfa/requirements.ts';
import { minimumAcrOf } from '../oidc/interaction-policy.ts';
import { isTrustedBrowser } from './trusted-browser.ts';

/** The level this interaction's request needs of this account (policy, client, acr_values). */
export async function levelNeeded(deps: InteractionDeps, details: InteractionDetails, accountId: string): Promise<Level> {
  const client = await deps.provider.Client.find(String(details.params.client_id));
  return neededLevel(deps.mfaPolicy, accountId, { minimumAcr: minimumAcrOf(client) }, acrRequestOf(details.params));
}

/**
 * After a first step of a sign-in (a password, an upstream account, or the session a step-up
 * starts from): finish it, or ask for what is missing. An account with a factor is always
 * asked for one; an account without one that must reach `mfa` enrols one first. Only the
 * second step is asked for: a step-up never asks for the password again.
 */
export async function continueSignIn(ctx: Context, deps: InteractionDeps, details: InteractionDetails, accountId: string, amr: string[], options: { loginTs?: number; noFactor?: boolean } = {}): Promise<void> {
  // `noFactor`: the step before found no confirmed factor in this same request.
  const [level, factors] = await Promise.all([
    levelNeeded(deps, details, accountId),
    options.noFactor ? [] : deps.mfa.listFactors(accountId).then((all) => all.filter((factor) => factor.confirmed)),
  ]);
  const reached = levelOf(amr);
  // A session relabelled for an essential acr, or a sign-in that needs nothing more.
  if (atLeast(reached, level) && (factors.length === 0 || reached !== 'password')) {
    return finishSignIn(ctx, deps, details, accountId, amr, options.loginTs);
  }
  // "Trust this browser": a second factor shown on this browser before stands in for one now,
  // never where a phishing-resistant level is needed.
  if (level !== 'phishing-resistant' && factors.length > 0 && (await isTrustedBrowser(ctx, deps, accountId))) {
    deps.logger.info({ event: 'mfa.trusted_browser', accountId, uid: details.uid, id: ctx.state.requestId }, 'second factor skipped on a trusted browser');
    return finishSignIn(ctx, deps, details, accountId, combineAmr(amr, ['mfa']));
  }
  const pending: PendingSecondFactor = { accountId, amr, level };
  if (factors.length === 0) pending.enrol = {};
  await deps.pendingSecondFactors.save(details.uid, pending, secondsLeft(details));
  ctx.status = 303;
  ctx.redirect(`/interaction/${details.uid}/${factors.length === 0 ? 'enrol' : 'second-factor'}`);
}

/** The login result for oidc-provider: the methods shown and the level they reach, as `acr`. */
export function loginResult(details: InteractionDetails, accountId: string, amr: string[], loginTs?: number) {
  const acr = acrFor(levelOf(amr), acrRequestOf(details.params).values);
  return { login: { accountId, amr, acr, remember: true, ...(loginTs ? { ts: loginTs } : {}) } };
}

/** Hands the login to oidc-provider; the URL that continues the authorization request. */
export function finishSignInUrl(ctx: Context, deps: InteractionDeps, details: InteractionDetails, accountId: string, amr: string[], loginTs?: number): Promise<string> {
  return deps.provider.interactionResult(ctx.req, ctx.res, loginResult(details, accountId, amr, loginTs), { mergeWithLastSubmission: false });
}

export async function finishSignIn(ctx: Context, deps: InteractionDeps, details: InteractionDetails, accountId: string, amr: string[], loginTs?: number): Promise<void> {
  const returnTo = await finishSignInUrl(ctx, deps, details, accountId, amr, loginTs);
  ctx.status = 303;
  ctx.redirect(returnTo);
}
