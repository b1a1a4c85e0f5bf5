import type { Context, Middleware } from 'koa';
import type { Pages } from './render.ts';

/**
 * oidc-provider answers some steps with a bare page of its own that posts a form onward by
 * script (lib/response_modes/form_post.js): a sign-out with no session left, and responses with
 * `response_mode=form_post`. It has no language, no layout, and without JavaScript it reads
 * "Your browser does not support JavaScript". This rewrites that page into ours: the same form
 * and fields, a visible Continue button (so it works without JavaScript), and our own
 * auto-submit script from /assets (CSP `script-src 'self'`), in the person's language.
 */
const MARKER = '<title>Submitting Callback</title>';
const FORM = /<form method="post" action="([^"]*)">/;
const INPUT = /<input type="hidden" name="([^"]*)" value="([^"]*)"\/>/g;

// The inverse of oidc-provider's htmlSafe (lib/helpers/html_safe.js); ejs escapes again on output.
const unescapeHtml = (value: string): string => value
  .replace(/&#39;/g, '\'').replace(/&quot;/g, '"').replace(/&gt;/g, '>').replace(/&lt;/g, '<').replace(/&amp;/g, '&');

export function parseFormPost(html: string): { action: string; fields: Array<{ name: string; value: string }> } | null {
  if (!html.includes(MARKER)) return null;
  const action = FORM.exec(html)?.[1];
  if (action === undefined) return null;
  const fields = [...html.matchAll(INPUT)].map((match) => ({ name: unescapeHtml(match[1]!), value: unescapeHtml(match[2]!) }));
  return { action: unescapeHtml(action), fields };
}

export function ownFormPostPages(pages: Pages, options: { endSessionConfirmPath: string }): Middleware {
  return async (ctx: Context, next) => {
    await next();
    if (typeof ctx.body !== 'string' || !ctx.response.is('html')) return;
    const form = parseFormPost(ctx.body);
    if (!form) return;
    const signingOut = URL.canParse(form.action, 'http://page.invalid') && new URL(form.action, 'http://page.invalid').pathname === options.endSessionConfirmPath;
    const client = (ctx as { oidc?: { client?: { clientName?: string; clientId: string } } }).oidc?.client;
    const status = ctx.status;
    pages.render(ctx, 'form-post', {
      title: pages.t(ctx)(signingOut ? 'form-post.signing_out' : 'form-post.returning'),
      signingOut,
      clientName: client ? client.clientName ?? client.clientId : null,
      action: form.action,
      fields: form.fields,
    });
    ctx.status = status;
  };
}
