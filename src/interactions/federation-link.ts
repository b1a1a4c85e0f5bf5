import type { Context, Middleware } from 'koa';
import type { InteractionDeps } from './deps.ts';
import { interactionStep, renderStep, type Step } from './step.ts';
import { MAX_LINK_ATTEMPTS, type PendingLink } from '../federation/service.ts';
import { renderFederationFailure } from './federation-failure.ts';
import { secondsLeft } from './federation-start.ts';
import { completeFederatedLogin } from './federation-callback.ts';
import { requestContext } from './request.ts';

function renderLinkPage(ctx: Context, deps: InteractionDeps, step: Step, link: PendingLink, error: string | null): void {
  const upstream = deps.upstreams.get(link.upstreamId);
  renderStep(ctx, deps, step, 'link-account', {
    upstreamName: upstream?.displayName ?? link.upstreamId,
    email: link.accountEmail,
    hasPassword: link.hasPassword,
    error,
  });
}

async function loadLink(deps: InteractionDeps, ctx: Context) {
  const step = await interactionStep(deps, ctx, { prompt: 'login' });
  return { step, details: step.details, link: await deps.federation.pendingLink(step.uid) };
}

/** GET /interaction/:uid/link: asks for the local account's password before linking. */
export function showLink(deps: InteractionDeps): Middleware {
  return async (ctx) => {
    const { step, details, link } = await loadLink(deps, ctx);
    if (!link) {
      ctx.status = 303;
      ctx.redirect(`/interaction/${details.uid}`);
      return;
    }
    renderLinkPage(ctx, deps, step, link, null);
  };
}

/** POST /interaction/:uid/link: links once the password is right; a few wrong ones end the attempt. */
export function submitLink(deps: InteractionDeps): Middleware {
  return async (ctx) => {
    const { step, details, link } = await loadLink(deps, ctx);
    const fields = step.fields;
    const upstream = link ? deps.upstreams.get(link.upstreamId) : undefined;
    if (!link || !upstream) {
      renderFederationFailure(ctx, deps, { reason: 'state_invalid', upstream, uid: details.uid, detail: 'no pending link' });
      return;
    }
    const result = link.hasPassword ? await deps.federation.confirmLink(link, fields.password ?? '', requestContext(ctx)) : { type: 'wrong_password' as const };
    if (result.type === 'wrong_password') {
      const failedAttempts = link.failedAttempts + 1;
      deps.logger.warn({ event: 'federation.link_password_failed', upstream: upstream.id, accountId: link.accountId, failedAttempts, ip: ctx.ip, id: ctx.state.requestId }, 'wrong password while linking');
      if (failedAttempts >= MAX_LINK_ATTEMPTS) {
        await deps.federation.dropPendingLink(details.uid);
        renderFederationFailure(ctx, deps, { reason: 'too_many_attempts', upstream, uid: details.uid });
        return;
      }
      await deps.federation.savePendingLink({ ...link, failedAttempts }, secondsLeft(details));
      ctx.status = 400;
      renderLinkPage(ctx, deps, step, link, deps.pages.t(ctx)('link-account.wrong_password'));
      return;
    }
    await deps.federation.dropPendingLink(details.uid);
    if (result.type === 'refused') {
      renderFederationFailure(ctx, deps, { reason: result.reason, upstream, uid: details.uid });
      return;
    }
    await completeFederatedLogin(ctx, deps, upstream, result.accountId, 'linked_with_password');
  };
}

/** POST /interaction/:uid/link/cancel: nothing is linked; back to the login page. */
export function cancelLink(deps: InteractionDeps): Middleware {
  return async (ctx) => {
    const { details } = await interactionStep(deps, ctx, { prompt: 'any' });
    await deps.federation.dropPendingLink(details.uid);
    deps.logger.info({ event: 'federation.link_cancelled', uid: details.uid, id: ctx.state.requestId }, 'link cancelled');
    ctx.status = 303;
    ctx.redirect(`/interaction/${details.uid}`);
  };
}
