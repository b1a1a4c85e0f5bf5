import { consume, limitKey, type LimiterFactory, type Rate } from '../security/rate-limits.ts';

/**
 * The budget every address shares, as a multiple of one address's: it bounds guessing spread
 * over many addresses (RFC 8628 §5.1, §6.1: the user code's entropy holds only while attempts
 * are limited), and is wide enough that one address alone can never use it up.
 */
const SHARED_BUDGET = 100;

export type DeviceCodeAdmission =
  | { allowed: true; ipKey: string }
  | { allowed: false; retryAfterSeconds: number };

/**
 * Wrong user codes, counted per client IP and across all addresses. A point is taken before the
 * code is looked up and given back when the code turned out not to be a wrong guess, so parallel
 * attempts cannot look up more codes than the limits allow (as the login limits do,
 * src/security/login-protection.ts).
 */
export interface DeviceCodeLimit {
  admit(ip: string): Promise<DeviceCodeAdmission>;
  /** The attempt was no wrong guess (the code was found, or nothing was looked up). */
  refund(ipKey: string): Promise<void>;
}

export function createDeviceCodeLimit(limiter: LimiterFactory, perIp: Rate): DeviceCodeLimit {
  const byIp = limiter('device-code-ip', perIp);
  const everyone = limiter('device-code-all', { points: perIp.points * SHARED_BUDGET, durationSeconds: perIp.durationSeconds });
  const ALL = 'all';
  return {
    async admit(ip) {
      const ipKey = limitKey(ip);
      const own = await consume(byIp, ipKey);
      if (!own.ok) return { allowed: false, retryAfterSeconds: own.retryAfterSeconds };
      const shared = await consume(everyone, ALL);
      if (!shared.ok) {
        await byIp.reward(ipKey);
        return { allowed: false, retryAfterSeconds: shared.retryAfterSeconds };
      }
      return { allowed: true, ipKey };
    },
    async refund(ipKey) {
      await Promise.all([byIp.reward(ipKey), everyone.reward(ALL)]);
    },
  };
}
