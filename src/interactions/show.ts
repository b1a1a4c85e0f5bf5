import type { Middleware } from 'koa';
import type { InteractionDeps } from './deps.ts';
import { noteForLog } from '../http/request-context.ts';
import { describeScope } from './scope-descriptions.ts';
import { supportedScopes } from '../oidc/claims.ts';
import { loginPage } from './login-page.ts';

/** GET /interaction/:uid: the page for the step oidc-provider is asking for (login or consent). */
export function showInteraction(deps: InteractionDeps): Middleware {
  const { provider, csrf, renderPage } = deps;
  return async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    noteForLog(ctx, { clientId: String(details.params.client_id), accountId: details.session?.accountId });
    ctx.type = 'html';
    ctx.set('cache-control', 'no-store');

    if (details.prompt.name === 'login') {
      const hint = typeof details.params.login_hint === 'string' ? details.params.login_hint : '';
      ctx.body = await loginPage(deps, details, { email: hint, error: null });
      return;
    }

    const client = await provider.Client.find(String(details.params.client_id));
    const clientName = client?.clientName ?? client?.clientId ?? 'the application';
    const common = { uid: details.uid, csrf: csrf.token(details.uid), clientName };

    // Everything the application will hold after this step, not only what is new: a person
    // deciding should see the whole picture (prompt=consent re-asks for scopes granted before).
    const missing = details.prompt.details as { missingResourceScopes?: Record<string, string[]> };
    // API scopes are listed under their API below, not as sign-in permissions.
    const requested = String(details.params.scope ?? '').split(' ').filter((scope) => (supportedScopes as readonly string[]).includes(scope));
    const scopes = requested.map((scope) => ({ scope, text: describeScope(scope) }));
    // Per API: what this request adds plus what an earlier consent already allowed.
    const grant = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
    const requestedResources = [details.params.resource ?? []].flat().map(String);
    const resources = [...new Set([...requestedResources, ...Object.keys(missing.missingResourceScopes ?? {})])]
      .map((indicator) => {
        const held = grant?.getResourceScope(indicator).split(' ') ?? [];
        const list = [...new Set([...held, ...(missing.missingResourceScopes?.[indicator] ?? [])])].filter(Boolean);
        return { indicator, scopes: list };
      })
      .filter((resource) => resource.scopes.length > 0);
    ctx.body = renderPage('consent', { title: 'Allow access?', ...common, scopes, resources });
  };
}
