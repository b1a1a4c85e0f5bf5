import type { Middleware } from 'koa';
import type { AccountPageDeps } from './deps.ts';
import { linkCsrf, linkInteraction, linkToken, renderNotice, requireLinkCsrf } from './link-form.ts';
import { requestContext } from '../interactions/request.ts';

const invalid = (deps: AccountPageDeps, ctx: Parameters<Middleware>[0]) => {
  const t = deps.pages.t(ctx);
  return renderNotice(ctx, deps, { status: 400, title: t('verify-email.invalid_title'), text: t('verify-email.invalid') });
};

/**
 * GET /account/verify-email?token=…: a page with a button, not the verification itself: mail
 * scanners open links, and a GET must not change anything.
 */
export function showVerifyEmail(deps: AccountPageDeps): Middleware {
  return async (ctx) => {
    const token = linkToken(ctx);
    if (!(await deps.selfService.isValidLink(token, 'verify_email'))) return invalid(deps, ctx);
    deps.pages.render(ctx, 'verify-email', {
      token, csrf: linkCsrf(deps.csrf, token), interaction: linkInteraction(ctx), clientId: typeof ctx.query.client_id === 'string' ? ctx.query.client_id : '',
    });
  };
}

/**
 * POST /account/verify-email: uses the link (once) and marks the email verified, then offers the
 * way back into the sign-in it came from (which continues as the new account by itself).
 */
export function submitVerifyEmail(deps: AccountPageDeps): Middleware {
  return async (ctx) => {
    const token = linkToken(ctx);
    requireLinkCsrf(deps.csrf, ctx, token);
    const account = await deps.selfService.verifyEmail(token, requestContext(ctx));
    if (!account) return invalid(deps, ctx);
    const t = deps.pages.t(ctx);
    await renderNotice(ctx, deps, { title: t('verify-email.done_title'), text: t('verify-email.done', { email: account.email }) });
  };
}
