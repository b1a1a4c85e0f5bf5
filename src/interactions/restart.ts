import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import { clientDisplay, type ClientDisplay } from '../pages/client-display.ts';
import type { Pages } from '../pages/render.ts';
import type { ErrorAction, ErrorView } from '../http/error-view.ts';

/** The client a page or a mailed link names (`client_id` in the query or in the posted form). */
function namedClientId(ctx: Context): string | null {
  const fromQuery = ctx.query.client_id;
  const body = (ctx.request as { body?: Record<string, unknown> }).body;
  const value = typeof fromQuery === 'string' ? fromQuery : typeof body?.client_id === 'string' ? body.client_id : null;
  return value && value.length <= 200 ? value : null;
}

export async function namedClient(provider: Provider, ctx: Context, fallbackName: string): Promise<ClientDisplay | null> {
  const id = namedClientId(ctx);
  const client = id ? await provider.Client.find(id).catch(() => undefined) : undefined;
  return client ? clientDisplay(client, fallbackName) : null;
}

/**
 * Where a person goes on from a step that has no sign-in to return to: the application's own
 * sign-in start (`initiate_login_uri`, OIDC Core §4, with `iss` and what they typed as
 * `login_hint`), else its home page (`client_uri`), else nowhere (the page says what to do).
 */
export function applicationEntry(client: ClientDisplay | null, issuer: string, loginHint?: string): { href: string; restart: boolean } | null {
  if (client?.initiateLoginUri) {
    const url = new URL(client.initiateLoginUri);
    url.searchParams.set('iss', issuer);
    if (loginHint) url.searchParams.set('login_hint', loginHint);
    return { href: url.href, restart: true };
  }
  return client?.homeUri ? { href: client.homeUri, restart: false } : null;
}

/**
 * An expired or vanished sign-in (the interaction's cookie or record is gone) restarts at the
 * application when the page said which one it was: the application begins a fresh
 * authorization request, so nothing is lost but the expired step.
 */
export function restartExpiredSignIn(deps: { provider: Provider; pages: Pages; issuer: string }) {
  return async (ctx: Context, view: ErrorView): Promise<ErrorAction | 'handled' | null> => {
    if (view.code !== 'interaction.expired') return null;
    const t = deps.pages.t(ctx);
    const client = await namedClient(deps.provider, ctx, t('common.the_application'));
    const body = (ctx.request as { body?: Record<string, unknown> }).body;
    const typed = typeof body?.email === 'string' && body.email.length <= 254 ? body.email.trim() : undefined;
    const entry = applicationEntry(client, deps.issuer, typed);
    if (!entry) return null;
    if (entry.restart) {
      ctx.status = 303;
      ctx.redirect(entry.href);
      return 'handled';
    }
    return { href: entry.href, label: t('next.continue_to', { client: client!.name }) };
  };
}
