import type { KoaContextWithOIDC, UnknownObject } from 'oidc-provider';
import type { Pages } from '../pages/render.ts';
import { clientDisplay } from '../pages/client-display.ts';
import { browserWords } from '../account/browser-words.ts';
import { describeScope } from './scope-descriptions.ts';
import { readProviderForm } from './device-form.ts';

const text = (value: unknown): string | null => (typeof value === 'string' && value ? value : null);

/**
 * `features.deviceFlow.userCodeConfirmSource`: the code was found. Before the sign-in starts,
 * the person sees which application asks, what for, the code to compare with the device's
 * screen and where the request came from (RFC 8628 §5.4: a code passed on by someone else is
 * remote phishing), and approves (`confirm`) or denies (`abort`) with oidc-provider's xsrf token.
 */
export function userCodeConfirmSource(pages: Pages) {
  return async (ctx: KoaContextWithOIDC, form: string, client: Parameters<typeof clientDisplay>[0], deviceInfo: UnknownObject | undefined, userCode: string): Promise<void> => {
    const t = pages.t(ctx);
    const { action, xsrf } = readProviderForm(form);
    const shown = clientDisplay(client, '');
    const requested = String(ctx.oidc.deviceCode?.params?.scope ?? '').split(' ').filter(Boolean);
    const address = text(deviceInfo?.ip);
    const userAgent = text(deviceInfo?.ua);
    pages.render(ctx, 'device-confirm', {
      title: t('device.confirm.title'),
      client: shown,
      userCode,
      scopes: requested.map((scope) => ({ scope, text: describeScope(t, scope) })),
      requestedFrom: address || userAgent ? { address: address ?? t('device.confirm.unknown_address'), device: browserWords(t, userAgent) } : null,
      action,
      xsrf,
      switchUrl: new URL(action).pathname,
    });
  };
}
