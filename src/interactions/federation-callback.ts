import type { Context, Middleware } from 'koa';
import { UpstreamError, type Upstream, type UpstreamProfile } from '../federation/upstream.ts';
import type { InteractionDeps } from './deps.ts';
import { renderFederationFailure } from './federation-failure.ts';
import { requireUpstream, secondsLeft, upstreamRedirectUri } from './federation-start.ts';
import { interactionStep } from './step.ts';
import { continueSignIn } from './after-first-factor.ts';
import { consoleLinkCallbackPath, isConsoleLinkState } from '../federation/console-link-state.ts';

// `<interaction uid>.<random>`, as made by startFederation.
const STATE = /^([A-Za-z0-9_-]{8,64})\.[A-Za-z0-9_-]{32,128}$/;

/**
 * GET /federation/:upstream/callback: the fixed redirect URI. The interaction cookie is scoped to
 * /interaction/<uid>, so the browser would not send it here; this hop reads the uid from the
 * state and forwards the untouched query to the interaction, where the cookie proves it is the
 * same browser that started. A state that is not ours goes no further.
 */
export function relayCallback(deps: InteractionDeps): Middleware {
  return async (ctx) => {
    const upstream = requireUpstream(deps, ctx);
    // A link started in the account console comes back through the same URI (src/federation/console-link-state.ts).
    if (isConsoleLinkState(ctx.query.state)) {
      ctx.status = 303;
      ctx.redirect(`${consoleLinkCallbackPath(upstream.id)}?${ctx.querystring}`);
      return;
    }
    const uid = STATE.exec(typeof ctx.query.state === 'string' ? ctx.query.state : '')?.[1];
    if (!uid) {
      renderFederationFailure(ctx, deps, { reason: 'state_invalid', upstream, detail: 'state missing or malformed' });
      return;
    }
    ctx.status = 303;
    ctx.redirect(`/interaction/${uid}/federation/${upstream.id}/callback?${ctx.querystring}`);
  };
}

/**
 * GET /interaction/:uid/federation/:upstream/callback: takes the attempt for this state (once),
 * lets openid-client check and exchange the response, then applies the account rules.
 */
export function finishFederation(deps: InteractionDeps): Middleware {
  return async (ctx) => {
    const { details } = await interactionStep(deps, ctx, { prompt: 'login' });
    const upstream = requireUpstream(deps, ctx);
    const fail = (reason: Parameters<typeof renderFederationFailure>[2]['reason'], extra: { upstreamCode?: string | undefined; detail?: string } = {}) =>
      renderFederationFailure(ctx, deps, { reason, upstream, uid: details.uid, ...extra });

    const state = typeof ctx.query.state === 'string' ? ctx.query.state : '';
    const attempt = state ? await deps.federation.takeAttempt(state) : null;
    if (!attempt || attempt.uid !== details.uid || attempt.upstreamId !== upstream.id) {
      fail('state_invalid', { detail: attempt ? 'state belongs to another interaction or upstream' : 'state unknown, expired or already used' });
      return;
    }

    const callbackUrl = new URL(`${upstreamRedirectUri(deps.issuer, upstream.id)}?${ctx.querystring}`);
    let profile: UpstreamProfile;
    try {
      profile = await upstream.profile(callbackUrl, attempt.checks);
    } catch (error) {
      if (!(error instanceof UpstreamError)) throw error;
      fail(error.reason, { upstreamCode: error.upstreamCode, detail: error.message });
      return;
    }
    const resolution = await deps.federation.resolve(upstream.id, profile);

    if (resolution.type === 'refused') {
      fail(resolution.reason);
      return;
    }
    if (resolution.type === 'confirm') {
      await deps.federation.savePendingLink({
        uid: details.uid, upstreamId: upstream.id, profile, accountId: resolution.accountId,
        accountEmail: resolution.accountEmail, hasPassword: resolution.hasPassword, failedAttempts: 0,
      }, secondsLeft(details));
      deps.logger.info({ event: 'federation.link_pending', upstream: upstream.id, accountId: resolution.accountId, uid: details.uid, id: ctx.state.requestId }, 'upstream email matches an account; asking for its password');
      ctx.status = 303;
      ctx.redirect(`/interaction/${details.uid}/link`);
      return;
    }
    await completeFederatedLogin(ctx, deps, upstream, resolution.accountId, resolution.outcome);
  };
}

export type FederatedOutcome = 'existing' | 'created' | 'linked' | 'linked_with_password';

/** The audit event of each way an upstream sign-in can end well. */
const auditedOutcomes: Record<FederatedOutcome, { event: 'federation.signed_in' | 'federation.account_created' | 'federation.linked'; reason: string | null }> = {
  existing: { event: 'federation.signed_in', reason: null },
  created: { event: 'federation.account_created', reason: 'first_sign_in' },
  linked: { event: 'federation.linked', reason: 'verified_email' },
  linked_with_password: { event: 'federation.linked', reason: 'password_confirmed' },
};

/** Finishes the login prompt for the account (or asks for its second factor); consent follows as for a password login. */
export async function completeFederatedLogin(ctx: Context, deps: InteractionDeps, upstream: Upstream, accountId: string, outcome: FederatedOutcome): Promise<void> {
  deps.logger.info({ event: 'federation.signed_in', outcome, upstream: upstream.id, accountId, ip: ctx.ip, id: ctx.state.requestId }, 'signed in through upstream');
  const audited = auditedOutcomes[outcome];
  await deps.audit.record({
    event: audited.event, reason: audited.reason, accountId, ip: ctx.ip, userAgent: ctx.get('user-agent') || null, details: { upstream: upstream.id },
  });
  deps.metrics?.recordLogin('federated', 'success');
  // An upstream sign-in is one factor here, whatever the upstream asked: ours may follow.
  const details = await deps.provider.interactionDetails(ctx.req, ctx.res);
  await continueSignIn(ctx, deps, details, accountId, ['fed']);
}
