import type { AuditLog } from '../audit/service.ts';
import type { LoginProtection } from '../security/login-protection.ts';
import { consume, limitKey, type Limiter } from '../security/rate-limits.ts';
import type { Account } from './repository.ts';
import type { AccountService } from './service.ts';

export interface RequestContext {
  ip: string;
  userAgent?: string | undefined;
  /** The language of the page that asked: mails it causes are written in it. */
  locale?: string | undefined;
  /** The sign-in in progress, so that a mailed link can lead back into it. */
  interaction?: { uid: string; clientId: string } | undefined;
}

export type SignInResult =
  // `secondFactor`: the password was right and the account has a second factor, which must
  // follow (true), or has none (false; absent when second factors are not checked here).
  | { ok: true; account: Account; secondFactor?: boolean }
  // A wrong password, an unknown email, a disabled or a locked account: one answer for all.
  | { ok: false; reason: 'invalid' }
  // Too many failures from this IP address: the person is told to wait.
  | { ok: false; reason: 'rate_limited'; retryAfterSeconds: number }
  // Right password, but the operator requires a verified email first.
  | { ok: false; reason: 'email_unverified'; account: Account };

export type SignInService = ReturnType<typeof createSignInService>;

export type SecondFactorMethod = 'totp' | 'recovery';
export type SecondFactorResult = { ok: true } | { ok: false; reason: 'invalid' } | { ok: false; reason: 'rate_limited'; retryAfterSeconds: number };

/**
 * Password sign-in with brute-force protection and an audit trail: admission by the limits
 * first (so a locked account costs no password evaluation), then the check, then the limits
 * are told how it went.
 */
/**
 * How an attempt ended, for metrics. Finer than SignInResult where the person is deliberately
 * told less: a locked account answers `invalid` but is reported as `locked`.
 */
export type SignInOutcome = 'success' | 'invalid' | 'email_unverified' | 'rate_limited' | 'locked' | 'account_rate_limited';

const refusedOutcome = { ip_limit: 'rate_limited', locked: 'locked', account_limit: 'account_rate_limited' } as const;

export function createSignInService(deps: {
  accounts: AccountService; protection: LoginProtection; audit: AuditLog; requireVerifiedEmail: boolean;
  /** Told how each attempt ended (metrics); optional. */
  onOutcome?: ((outcome: SignInOutcome) => void) | undefined;
  /**
   * A limiter per kind of second factor ('totp', 'recovery', 'passkey'), counting each account's
   * failures: codes are guessed apart from passwords, so each kind has its own budget too.
   */
  factorLimits?: Partial<Record<SecondFactorMethod | 'passkey', Limiter>> | undefined;
  /** Told how each second-factor attempt ended (metrics); optional. */
  onSecondFactor?: ((method: SecondFactorMethod | 'passkey', outcome: string) => void) | undefined;
  /** Second factors (src/mfa/service.ts): whether an account has one, and checking a code. */
  secondFactors?: {
    hasFactor(accountId: string): Promise<boolean>;
    verify(accountId: string, method: SecondFactorMethod, code: string): Promise<boolean>;
  } | undefined;
}) {
  const { accounts, protection, audit } = deps;
  const finish = (outcome: SignInOutcome, result: SignInResult): SignInResult => {
    deps.onOutcome?.(outcome);
    return result;
  };
  const service = {
    async signIn(email: string, password: string, context: RequestContext): Promise<SignInResult> {
      const normalized = email.trim().toLowerCase();
      const where = { email: normalized, ip: context.ip, userAgent: context.userAgent };
      const admission = await protection.admit(normalized, context.ip);
      if (!admission.allowed) {
        await audit.record({ event: 'login.failed', reason: admission.reason, ...where });
        return finish(refusedOutcome[admission.reason], admission.reason === 'ip_limit' ? { ok: false, reason: 'rate_limited', retryAfterSeconds: admission.retryAfterSeconds } : { ok: false, reason: 'invalid' });
      }
      const check = await accounts.checkCredentials(normalized, password);
      if (!check.ok) {
        const lock = await protection.failed(admission.attempt);
        await audit.record({ event: 'login.failed', reason: check.reason, accountId: check.account?.id, ...where });
        if (lock) await audit.record({ event: 'account.locked', accountId: check.account?.id, details: { seconds: lock.lockedForSeconds }, ...where });
        return finish('invalid', { ok: false, reason: 'invalid' });
      }
      if (deps.requireVerifiedEmail && !check.account.emailVerified) {
        await protection.succeeded(admission.attempt);
        await audit.record({ event: 'login.failed', reason: 'email_unverified', accountId: check.account.id, ...where });
        return finish('email_unverified', { ok: false, reason: 'email_unverified', account: check.account });
      }
      const hasFactor = await deps.secondFactors?.hasFactor(check.account.id);
      if (hasFactor) {
        // The run of failures ends only when the second factor is right too: otherwise whoever
        // knows the password could reset the lockout between guesses at the code.
        await audit.record({ event: 'mfa.required', accountId: check.account.id, ...where });
        return { ok: true, account: check.account, secondFactor: true };
      }
      await protection.succeeded(admission.attempt);
      await audit.record({ event: 'login.succeeded', accountId: check.account.id, ...where });
      return finish('success', { ok: true, account: check.account, ...(hasFactor === false ? { secondFactor: false } : {}) });
    },

    /**
     * The second step of a sign-in: a code from an authenticator app or a recovery code. Wrong
     * codes count toward the same lockout and limits as wrong passwords (NIST SP 800-63B
     * §5.2.2), shared by every instance.
     */
    verifySecondFactor(account: Account, method: SecondFactorMethod, code: string, context: RequestContext): Promise<SecondFactorResult> {
      return secondStep(account, method, async () => Boolean(deps.secondFactors && await deps.secondFactors.verify(account.id, method, code)), context);
    },

    /**
     * A passkey as the second step: the assertion is checked by `check` (src/mfa/webauthn.ts);
     * a locked account is refused before it, and a right one ends the run of failures.
     */
    verifyPasskeyStep(account: Account, check: () => Promise<boolean>, context: RequestContext): Promise<SecondFactorResult> {
      return secondStep(account, 'passkey', check, context);
    },
  };

  async function secondStep(account: Account, method: SecondFactorMethod | 'passkey', check: () => Promise<boolean>, context: RequestContext): Promise<SecondFactorResult> {
    const where = { email: account.email, ip: context.ip, userAgent: context.userAgent, accountId: account.id };
    const admission = await protection.admit(account.email, context.ip);
    if (!admission.allowed) {
      await audit.record({ event: 'mfa.failed', reason: admission.reason, details: { method }, ...where });
      deps.onSecondFactor?.(method, refusedOutcome[admission.reason]);
      return admission.reason === 'ip_limit' ? { ok: false, reason: 'rate_limited', retryAfterSeconds: admission.retryAfterSeconds } : { ok: false, reason: 'invalid' };
    }
    // A point per attempt of this kind of factor, given back when it was right (as the login limits do).
    const factorLimit = deps.factorLimits?.[method];
    const factorKey = limitKey(account.id);
    if (factorLimit) {
      const taken = await consume(factorLimit, factorKey);
      if (!taken.ok) {
        await audit.record({ event: 'mfa.failed', reason: 'factor_limit', details: { method }, ...where });
        deps.onSecondFactor?.(method, 'factor_limited');
        return { ok: false, reason: 'rate_limited', retryAfterSeconds: taken.retryAfterSeconds };
      }
    }
    if (!(await check())) {
      const lock = await protection.failed(admission.attempt);
      await audit.record({ event: 'mfa.failed', reason: 'invalid', details: { method }, ...where });
      if (lock) await audit.record({ event: 'account.locked', details: { seconds: lock.lockedForSeconds }, ...where });
      deps.onSecondFactor?.(method, 'invalid');
      return { ok: false, reason: 'invalid' };
    }
    await protection.succeeded(admission.attempt);
    await factorLimit?.reward(factorKey);
    await audit.record({ event: 'mfa.succeeded', details: { method }, ...where });
    await audit.record({ event: 'login.succeeded', details: { secondFactor: method }, ...where });
    deps.onSecondFactor?.(method, 'success');
    deps.onOutcome?.('success');
    return { ok: true };
  }

  return service;
}
