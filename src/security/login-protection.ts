import { consume, limitKey, type Limiter, type LimiterFactory, type Rate } from './rate-limits.ts';

export interface LockoutSettings {
  threshold: number;
  stepSeconds: number;
  maxSeconds: number;
  resetSeconds: number;
}

/** Permission to evaluate one password, to be settled with succeeded() or failed(). */
export interface Attempt {
  accountKey: string;
  ipKey: string;
  /** This attempt's place in the account's current run of failures (1 = first). */
  streak: number;
  /** True when the attempt got through a lock window (after a lock expired). */
  throughGate: boolean;
}

export type Admission =
  | { allowed: true; attempt: Attempt }
  // locked and account_limit look like a wrong password to the person; ip_limit is a 429.
  | { allowed: false; reason: 'locked' | 'account_limit' | 'ip_limit'; retryAfterSeconds: number };

/**
 * Brute-force protection for password checks, keyed by the submitted email (known or not, so
 * the behaviour reveals nothing) and by IP:
 *   - a run of `threshold` consecutive failures locks the email for stepSeconds, each further lock
 *     stepSeconds longer, up to maxSeconds; after a lock, one attempt at a time gets through
 *     (the "gate"), and its failure locks again, longer;
 *   - at most loginFailuresPerAccount failures per window per email (ASVS: 100 per hour);
 *   - at most loginFailuresPerIp failures per window per IP.
 * A point is taken before the password is evaluated and given back on success, so parallel
 * attempts cannot evaluate more passwords than the limits allow. A success clears the run.
 * Every window (the run, the locks, the gate) opens and ends by the limiter's clock.
 */
export function createLoginProtection(limiter: LimiterFactory, settings: { lockout: LockoutSettings; perAccount: Rate; perIp: Rate }) {
  const { lockout } = settings;
  const streaks: Limiter = limiter('login-streak', { points: lockout.threshold, durationSeconds: lockout.resetSeconds });
  // One attempt per window once the streak is over the threshold; blocked while locked.
  const gates: Limiter = limiter('login-gate', { points: 1, durationSeconds: lockout.maxSeconds });
  const locks: Limiter = limiter('login-locks', { points: 1_000_000, durationSeconds: lockout.resetSeconds });
  const perAccount: Limiter = limiter('login-account', settings.perAccount);
  const perIp: Limiter = limiter('login-ip', settings.perIp);

  const refund = (limit: Limiter, key: string) => limit.reward(key, 1);

  return {
    async admit(email: string, ip: string): Promise<Admission> {
      const accountKey = limitKey(email);
      const ipKey = limitKey(ip);
      // The three points at once (one round trip, not three); the checks are then made in order,
      // and a point a check made in order would never have reached is given back.
      const [streak, account, byIp] = await Promise.all([consume(streaks, accountKey), consume(perAccount, accountKey), consume(perIp, ipKey)]);
      let throughGate = false;
      let closedGate = false;
      if (!streak.ok) {
        // Over the threshold: only the one attempt holding the gate may go on.
        const gate = await consume(gates, accountKey);
        if (!gate.ok) {
          await Promise.all([refund(perAccount, accountKey), refund(perIp, ipKey)]);
          return { allowed: false, reason: 'locked', retryAfterSeconds: gate.retryAfterSeconds };
        }
        throughGate = true;
      } else if (streak.consumed === lockout.threshold) {
        // The last attempt before a lock: close the gate now, not after this password is
        // evaluated, so attempts racing it are refused (failed() then sets the lock's length).
        await gates.block(accountKey, lockout.maxSeconds);
        closedGate = true;
      }
      const openGate = () => (throughGate || closedGate ? gates.delete(accountKey) : undefined);
      if (!account.ok) {
        await Promise.all([openGate(), refund(perIp, ipKey)]);
        return { allowed: false, reason: 'account_limit', retryAfterSeconds: account.retryAfterSeconds };
      }
      if (!byIp.ok) {
        await Promise.all([refund(perAccount, accountKey), openGate()]);
        return { allowed: false, reason: 'ip_limit', retryAfterSeconds: byIp.retryAfterSeconds };
      }
      return { allowed: true, attempt: { accountKey, ipKey, streak: streak.consumed, throughGate } };
    },

    /** The password was right: the run ends and the hourly points come back. */
    async succeeded(attempt: Attempt): Promise<void> {
      await Promise.all([
        streaks.delete(attempt.accountKey),
        gates.delete(attempt.accountKey),
        locks.delete(attempt.accountKey),
        refund(perAccount, attempt.accountKey),
        refund(perIp, attempt.ipKey),
      ]);
    },

    /** The password was wrong: returns the lock this failure started, if any. */
    async failed(attempt: Attempt): Promise<{ lockedForSeconds: number } | null> {
      if (attempt.streak < lockout.threshold && !attempt.throughGate) return null;
      const lockNumber = (await locks.take(attempt.accountKey)).consumed;
      const seconds = Math.min(lockout.stepSeconds * lockNumber, lockout.maxSeconds);
      await gates.block(attempt.accountKey, seconds);
      return { lockedForSeconds: seconds };
    },

    /** Forgets an email's failures (after a password reset, say). */
    async clear(email: string): Promise<void> {
      const key = limitKey(email);
      await Promise.all([streaks.delete(key), gates.delete(key), locks.delete(key), perAccount.delete(key)]);
    },
  };
}

export type LoginProtection = ReturnType<typeof createLoginProtection>;
