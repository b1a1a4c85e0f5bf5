import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Pages } from '../pages/render.ts';
import { clientDisplay } from '../pages/client-display.ts';

/**
 * The end of the device flow in the browser: approved (`features.deviceFlow.successSource`,
 * after the sign-in and consent), or denied at the confirm page or cancelled during the sign-in
 * (oidc-provider re-renders the code page with an AbortedError). Either way the device learns
 * the outcome on its next poll; the person only needs to know to go back to it.
 */
export function renderDeviceDone(pages: Pages, ctx: KoaContextWithOIDC, outcome: 'approved' | 'denied'): void {
  const t = pages.t(ctx);
  const client = ctx.oidc?.client ? clientDisplay(ctx.oidc.client, '') : null;
  pages.render(ctx, 'device-done', {
    title: t(outcome === 'approved' ? 'device.done.title' : 'device.done.denied_title'),
    outcome,
    clientName: client?.name || null,
    // This page answers a one-time step (a post, or the end of the sign-in): the language switch
    // leads to the code page, since asking for this one again would fail.
    switchUrl: new URL(ctx.oidc.urlFor('code_verification')).pathname,
  });
}

/** `features.deviceFlow.successSource`. */
export const successSource = (pages: Pages) => async (ctx: KoaContextWithOIDC): Promise<void> => renderDeviceDone(pages, ctx, 'approved');
