import { createHash } from 'node:crypto';
import type { Middleware } from 'koa';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { LimiterFactory } from '../security/rate-limits.ts';

/** RFC 8628 §3.2: the seconds a device waits between polls, and §3.5: what each slow_down adds. */
export const POLL_INTERVAL_SECONDS = 5;
const SLOW_DOWN_STEP_SECONDS = 5;

/** When a device's polls may come (RFC 8628 §3.5), counted in the limiter store every instance shares. */
export interface DevicePolling {
  /**
   * A poll oidc-provider found pending: true when it came before this code's interval had passed
   * since its last poll on time. Either way the next poll waits the interval, which grows by
   * SLOW_DOWN_STEP_SECONDS with each poll that came too soon ("for this and all subsequent requests").
   */
  tooSoon(deviceCode: string): Promise<boolean>;
}

export function createDevicePolling(limiter: LimiterFactory, codeLifetimeSeconds: number): DevicePolling {
  // A window per code: open from a poll on time until its interval has passed.
  const polls = limiter('device-poll', { points: 1, durationSeconds: POLL_INTERVAL_SECONDS });
  // The slow_downs a code has had, for as long as the code lives.
  const slowDowns = limiter('device-slow-down', { points: 1_000_000, durationSeconds: codeLifetimeSeconds });
  return {
    async tooSoon(deviceCode) {
      // The device code is a credential: the store holds only its digest.
      const key = createHash('sha256').update(deviceCode).digest('base64url');
      const onTime = (await polls.take(key)).consumed <= 1;
      const slowed = (await slowDowns.take(key, onTime ? 0 : 1)).consumed;
      // take() opened a window of the base interval; a code that was slowed down waits longer.
      if (!onTime || slowed > 0) await polls.block(key, POLL_INTERVAL_SECONDS + SLOW_DOWN_STEP_SECONDS * slowed);
      return !onTime;
    },
  };
}

/**
 * oidc-provider 9 neither advertises an interval nor answers slow_down (lib/actions/grants/device_code.js).
 * This adds both around it: `interval` in the device authorization response, and a pending poll
 * that came too soon turned into `slow_down`. Only polls oidc-provider found pending are counted,
 * so only an authenticated client's live code, and a token response is never held back.
 */
export function devicePolling(paths: { deviceAuthorization: string; token: string }, polling: DevicePolling): Middleware {
  return async (ctx, next) => {
    if (ctx.path !== paths.token && ctx.path !== paths.deviceAuthorization) return next();
    await next();
    if (ctx.method !== 'POST') return;
    const body = ctx.body as Record<string, unknown> | null | undefined;
    if (!body || typeof body !== 'object' || Buffer.isBuffer(body)) return;
    if (ctx.path === paths.deviceAuthorization) {
      if (ctx.status === 200 && typeof body.device_code === 'string') ctx.body = { ...body, interval: POLL_INTERVAL_SECONDS };
      return;
    }
    const deviceCode = (ctx as unknown as KoaContextWithOIDC).oidc?.params?.device_code;
    if (body.error === 'authorization_pending' && typeof deviceCode === 'string' && await polling.tooSoon(deviceCode)) {
      ctx.body = { error: 'slow_down', error_description: 'you are polling too quickly: wait the interval, which has grown by 5 seconds' };
    }
  };
}
