import type { Configuration, KoaContextWithOIDC } from 'oidc-provider';
import type Provider from 'oidc-provider';
import type { Middleware } from 'koa';
import compose from 'koa-compose';
import type { Pages } from '../pages/render.ts';
import type { LimiterFactory, Rate } from '../security/rate-limits.ts';
import { userCodeInputSource } from './device-code-page.ts';
import { userCodeConfirmSource } from './device-confirm-page.ts';
import { successSource } from './device-done-page.ts';
import { deviceCodeEntry } from './device-code-entry.ts';
import { createDeviceCodeLimit, type DeviceCodeLimit } from './device-code-limit.ts';
import { createDevicePolling, devicePolling, type DevicePolling } from './device-polling.ts';

type DeviceFlowFeature = NonNullable<NonNullable<Configuration['features']>['deviceFlow']>;

/** Where a User-Agent is kept with the device code, to be shown on the confirm page; no more. */
const MAX_USER_AGENT = 512;

/**
 * RFC 8628 with our pages. The device (TV, CLI) asks at /device/auth and polls /token; the person
 * enters its code at /device (device-code-page.ts), checks and approves it (device-confirm-page.ts),
 * signs in and consents through the usual interaction (/interaction/:uid), and ends on the done
 * page (device-done-page.ts).
 */
export function deviceFlowFeature(pages: Pages): DeviceFlowFeature {
  return {
    enabled: true,
    // Eight of twenty consonants (no vowels, so no words; no look-alike digits): 34 bits, which
    // RFC 8628 §6.1 finds enough with attempts limited. Case, spaces and dashes do not matter
    // (oidc-provider's lib/helpers/user_codes.js normalize).
    charset: 'base-20',
    mask: '****-****',
    // The device's address and browser (from its own /device/auth request), shown when the code is confirmed.
    deviceInfo: (ctx: KoaContextWithOIDC) => ({ ip: ctx.ip, ua: ctx.get('user-agent').slice(0, MAX_USER_AGENT) }),
    userCodeInputSource: userCodeInputSource(pages),
    userCodeConfirmSource: userCodeConfirmSource(pages),
    successSource: successSource(pages),
  };
}

/** The limits the device flow keeps in the shared limiter store. */
export interface DeviceFlowLimits {
  codes: DeviceCodeLimit;
  polling: DevicePolling;
}

export function createDeviceFlowLimits(limiter: LimiterFactory, settings: { wrongCodesPerIp: Rate; codeLifetimeSeconds: number }): DeviceFlowLimits {
  return {
    codes: createDeviceCodeLimit(limiter, settings.wrongCodesPerIp),
    polling: createDevicePolling(limiter, settings.codeLifetimeSeconds),
  };
}

/**
 * What oidc-provider's device flow needs around it (provider.use): the wrong-code limit and the
 * prefilled code on /device (device-code-entry.ts), the polling interval on /device/auth and
 * /token (device-polling.ts).
 */
export function deviceFlowMiddleware(provider: Provider, limits: DeviceFlowLimits): Middleware {
  const path = (name: string) => new URL(provider.urlFor(name)).pathname;
  return compose([
    deviceCodeEntry(path('code_verification'), limits.codes),
    devicePolling({ deviceAuthorization: path('device_authorization'), token: path('token') }, limits.polling),
  ]);
}
