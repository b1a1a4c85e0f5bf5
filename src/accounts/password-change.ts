import type { Database } from '../db/database.ts';
import type { AuditLog } from '../audit/service.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { RenderMail } from '../mail/templates.ts';
import type { AccountStateStore } from '../oidc/adapters/account-state.ts';
import type { SessionGrantIds } from '../oidc/session-grants.ts';
import type { LoginProtection } from '../security/login-protection.ts';
import { RateLimitedError, waitText } from '../security/rate-limits.ts';
import { AppError } from '../errors.ts';
import { hashPassword } from './password.ts';
import type { PasswordProblem } from './password-policy.ts';
import { findAccountById } from './repository.ts';
import { replacePasswordHash, setFirstPasswordHash } from './account-changes-repository.ts';
import { signOutOtherSessions } from './other-sessions.ts';
import type { AccountService } from './service.ts';
import type { ChangeContext } from './change-context.ts';

export type PasswordChange = ReturnType<typeof createPasswordChange>;

export interface PasswordChangeInput {
  /** The password the account has now; not asked of an account without one (made through an upstream). */
  current?: string | undefined;
  password: string;
  /** End every other provider session (and their applications' grants), keeping `keepSessionUid`. */
  signOutOthers: boolean;
  /** The provider session the person is using, which stays signed in. */
  keepSessionUid: string | null;
}

export type PasswordChangeResult =
  | { ok: true; set: boolean; signedOut: { sessions: number; grants: number } | null }
  // `current.wrong` also answers a locked account, as the sign-in does; `current.required`: a
  // password was set meanwhile (another tab), so the form must ask for it now.
  | { ok: false; field: 'current'; code: 'current.missing' | 'current.wrong' | 'current.required' }
  // The policy's refusal (src/accounts/password-policy.ts), `count` for its plural.
  | { ok: false; field: 'password'; code: PasswordProblem; params?: { count: number } };

/**
 * Changing one's own password with the current one, or setting a first one. A wrong current
 * password is a failed sign-in to the login protection (src/security/login-protection.ts): the
 * same run of failures, lockout and hourly limits, so a console left open cannot be used to
 * guess it. The new password meets the policy; the account is told by mail.
 */
export function createPasswordChange(deps: {
  db: Database;
  accounts: AccountService;
  protection: LoginProtection;
  audit: AuditLog;
  accountState: AccountStateStore;
  sessionGrants: SessionGrantIds;
  mailer: Mailer;
  renderMail: RenderMail;
  logger: Logger;
  clock: Clock;
}) {
  const { db, accounts, protection, audit } = deps;
  const policy = accounts.passwordPolicy;

  /** The current password, checked under the login protection; null when it was right. */
  async function checkCurrent(email: string, accountId: string, current: string, context: ChangeContext): Promise<'current.wrong' | null> {
    const where = { accountId, email, ip: context.ip, userAgent: context.userAgent };
    const admission = await protection.admit(email, context.ip);
    if (!admission.allowed) {
      await audit.record({ event: 'login.failed', reason: admission.reason, details: { step: 'password_change' }, ...where });
      if (admission.reason === 'ip_limit') throw new RateLimitedError(`Too many attempts. Try again in ${waitText(admission.retryAfterSeconds)}.`, admission.retryAfterSeconds);
      return 'current.wrong';
    }
    const check = await accounts.checkCredentials(email, current);
    if (!check.ok) {
      const lock = await protection.failed(admission.attempt);
      await audit.record({ event: 'login.failed', reason: check.reason, details: { step: 'password_change' }, ...where });
      if (lock) await audit.record({ event: 'account.locked', details: { seconds: lock.lockedForSeconds }, ...where });
      return 'current.wrong';
    }
    await protection.succeeded(admission.attempt);
    return null;
  }

  return {
    /** Whether the account has a password to change (else it sets its first one). */
    async hasPassword(accountId: string): Promise<boolean> {
      return Boolean((await findAccountById(db, accountId))?.passwordHash);
    },

    async change(accountId: string, input: PasswordChangeInput, context: ChangeContext): Promise<PasswordChangeResult> {
      const account = await findAccountById(db, accountId);
      if (!account || account.disabled) throw new AppError('account.not_found', 'the account is gone');
      const set = !account.passwordHash;
      if (!set) {
        if (!input.current) return { ok: false, field: 'current', code: 'current.missing' };
        const wrong = await checkCurrent(account.email, accountId, input.current, context);
        if (wrong) return { ok: false, field: 'current', code: wrong };
      }
      const check = policy.check(input.password, { email: account.email });
      if (!check.ok) {
        const count = check.code === 'password.too_short' ? policy.minLength : check.code === 'password.too_long' ? policy.maxLength : undefined;
        return { ok: false, field: 'password', code: check.code, ...(count === undefined ? {} : { params: { count } }) };
      }
      const hash = await hashPassword(input.password);
      const written = await db.transaction(async (tx) => {
        if (!(set ? await setFirstPasswordHash(tx, accountId, hash) : await replacePasswordHash(tx, accountId, hash))) return false;
        await audit.record({
          event: 'password.changed', reason: context.via, accountId, email: account.email, ip: context.ip, userAgent: context.userAgent,
          details: { set, signOutOthers: input.signOutOthers },
        }, tx);
        return true;
      });
      if (!written) return { ok: false, field: 'current', code: 'current.required' };
      const signedOut = input.signOutOthers ? await signOutOtherSessions(deps.accountState, deps.sessionGrants, accountId, input.keepSessionUid) : null;
      if (signedOut) deps.logger.info({ event: 'password.changed.signed_out_others', accountId, ...signedOut }, 'other sessions ended after a password change');
      const when = deps.clock.now();
      const mail = set
        ? deps.renderMail('password-set', { when }, context.locale)
        : deps.renderMail('password-changed', { when, sessions: input.signOutOthers ? 'others' : 'none' }, context.locale);
      deps.mailer.sendInBackground({ to: account.email, ...mail }, { template: set ? 'password-set' : 'password-changed' });
      return { ok: true, set, signedOut };
    },
  };
}
