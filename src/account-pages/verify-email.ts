import type { Middleware } from 'koa';
import type { AccountPageDeps } from './deps.ts';
import { linkCsrf, linkToken, renderNotice, requireLinkCsrf } from './link-form.ts';
import { requestContext } from '../interactions/request.ts';

const invalid = { status: 400, title: 'This link has expired or was already used', text: 'Sign in and ask for a new verification email from the sign-in page.' };

/**
 * GET /account/verify-email?token=…: a page with a button, not the verification itself: mail
 * scanners open links, and a GET must not change anything.
 */
export function showVerifyEmail({ selfService, csrf, renderPage }: AccountPageDeps): Middleware {
  return async (ctx) => {
    const token = linkToken(ctx);
    if (!(await selfService.isValidLink(token, 'verify_email'))) return renderNotice(ctx, renderPage, invalid);
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');
    ctx.body = renderPage('verify-email', { title: 'Confirm your email address', token, csrf: linkCsrf(csrf, token) });
  };
}

/** POST /account/verify-email: uses the link (once) and marks the email verified. */
export function submitVerifyEmail({ selfService, csrf, renderPage }: AccountPageDeps): Middleware {
  return async (ctx) => {
    const token = linkToken(ctx);
    requireLinkCsrf(csrf, ctx, token);
    const account = await selfService.verifyEmail(token, requestContext(ctx));
    if (!account) return renderNotice(ctx, renderPage, invalid);
    renderNotice(ctx, renderPage, { title: 'Your email address is verified', text: `Thank you. You can now sign in as ${account.email}; return to the application you were using.` });
  };
}
