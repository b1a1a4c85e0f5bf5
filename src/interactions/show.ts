import type { Middleware } from 'koa';
import type { InteractionDeps } from './deps.ts';
import { describeScope } from './scope-descriptions.ts';

/** GET /interaction/:uid: the page for the step oidc-provider is asking for (login or consent). */
export function showInteraction({ provider, csrf, renderPage }: InteractionDeps): Middleware {
  return async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const client = await provider.Client.find(String(details.params.client_id));
    const clientName = client?.clientName ?? client?.clientId ?? 'the application';
    const common = { uid: details.uid, csrf: csrf.token(details.uid), clientName };
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');

    if (details.prompt.name === 'login') {
      const hint = typeof details.params.login_hint === 'string' ? details.params.login_hint : '';
      ctx.body = renderPage('login', { title: 'Sign in', ...common, email: hint, error: null });
      return;
    }

    // Everything the application will hold after this step, not only what is new: a person
    // deciding should see the whole picture (prompt=consent re-asks for scopes granted before).
    const missing = details.prompt.details as { missingResourceScopes?: Record<string, string[]> };
    const requested = String(details.params.scope ?? '').split(' ').filter(Boolean);
    const scopes = requested.map((scope) => ({ scope, text: describeScope(scope) }));
    const resources = Object.entries(missing.missingResourceScopes ?? {}).map(([indicator, list]) => ({ indicator, scopes: list }));
    ctx.body = renderPage('consent', { title: 'Allow access?', ...common, scopes, resources });
  };
}
