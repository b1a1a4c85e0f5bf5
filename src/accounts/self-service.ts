import { z } from 'zod';
import type { Database } from '../db/database.ts';
import type { AuditLog } from '../audit/service.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { MailTemplate, RenderMail } from '../mail/templates.ts';
import type { Logger } from '../log.ts';
import type { Background } from '../background.ts';
import { isAppError } from '../errors.ts';
import { deleteConsentsOf } from '../consents/repository.ts';
import { consume, RateLimitedError, waitText, type Limiter, type LimiterFactory, type Rate } from '../security/rate-limits.ts';
import { limitKey } from '../security/rate-limits.ts';
import type { LoginProtection } from '../security/login-protection.ts';
import type { RevokeAccountState } from '../oidc/adapters/account-state.ts';
import { findAccountById, insertAccount, markEmailVerified, updateAccountPasswordHash, type Account } from './repository.ts';
import { consumeToken, findValidToken, insertToken, retireTokens } from './tokens-repository.ts';
import { hashPassword } from './password.ts';
import { emailSchema, type AccountService } from './service.ts';
import type { RequestContext } from './sign-in.ts';
import type { Clock } from '../clock.ts';

export interface SelfServiceLimits {
  registrationsPerIp: Rate;
  registrationsPerEmail: Rate;
  resetRequestsPerIp: Rate;
  resetRequestsPerEmail: Rate;
  verificationResendsPerIp: Rate;
  verificationResendsPerEmail: Rate;
}

/** A form field the person has to change, with what to change. */
/**
 * A form field the person has to change: `code` names the catalogue message
 * (`problems.<code>`, with `count` for the plural), `message` says it in English for the log.
 */
export type FieldProblem = { ok: false; field: 'email' | 'password' | 'name'; code: string; params?: { count: number }; message: string };

const invalidEmail = { ok: false, field: 'email', code: 'email.invalid', message: 'Enter a valid email address, like name@example.com.' } as const;

function passwordProblem(check: { code: string; message: string }, policy: { minLength: number; maxLength: number }): FieldProblem {
  const count = check.code === 'password.too_short' ? policy.minLength : check.code === 'password.too_long' ? policy.maxLength : undefined;
  return { ok: false, field: 'password', code: check.code, ...(count === undefined ? {} : { params: { count } }), message: check.message };
}

const nameSchema = z.string().trim().max(200).transform((value) => value || null);

export type SelfService = ReturnType<typeof createSelfService>;

/**
 * Registration, email verification and password reset. Every answer that could depend on whether
 * an account exists is the same either way (the person learns by mail), and the work that
 * differs (looking the account up, hashing, writing, mailing) runs after the response, in the
 * background, so the response time does not tell either.
 */
export function createSelfService(deps: {
  db: Database;
  accounts: AccountService;
  audit: AuditLog;
  mailer: Mailer;
  renderMail: RenderMail;
  limiter: LimiterFactory;
  limits: SelfServiceLimits;
  ttl: { emailVerification: number; passwordReset: number };
  issuer: string;
  revokeAccountState: RevokeAccountState;
  protection: LoginProtection;
  background: Background;
  logger: Logger;
  /** Decides when a mailed link expires. */
  clock: Clock;
}) {
  const { db, accounts, audit, limits, clock } = deps;
  const limiters = {
    registerIp: deps.limiter('register-ip', limits.registrationsPerIp),
    registerEmail: deps.limiter('register-email', limits.registrationsPerEmail),
    resetIp: deps.limiter('reset-ip', limits.resetRequestsPerIp),
    resetEmail: deps.limiter('reset-email', limits.resetRequestsPerEmail),
    resendIp: deps.limiter('resend-ip', limits.verificationResendsPerIp),
    resendEmail: deps.limiter('resend-email', limits.verificationResendsPerEmail),
  };

  /** Counts the request against its IP and its email; the email limit is keyed whether or not an account has it. */
  async function limit(byIp: Limiter, byEmail: Limiter, ip: string, email: string, what: string): Promise<void> {
    for (const [limiter, key] of [[byIp, ip], [byEmail, email]] as const) {
      const result = await consume(limiter, limitKey(key));
      if (!result.ok) throw new RateLimitedError(`Too many ${what}. Try again in ${waitText(result.retryAfterSeconds)}.`, result.retryAfterSeconds);
    }
  }

  function mail(to: string, template: MailTemplate, data: Record<string, unknown>, context: RequestContext): void {
    deps.mailer.sendInBackground({ to, ...deps.renderMail(template, data, context.locale) }, { template });
  }

  /**
   * A mailed link: the token, and what leads back (the page's language, the sign-in in progress
   * and its client), so the page it opens is in the same language and can continue that sign-in.
   */
  const link = (path: string, token: string, context: RequestContext) => {
    const url = new URL(`${deps.issuer}${path}`);
    url.searchParams.set('token', token);
    if (context.locale) url.searchParams.set('lang', context.locale);
    if (context.interaction) {
      url.searchParams.set('interaction', context.interaction.uid);
      url.searchParams.set('client_id', context.interaction.clientId);
    }
    return url.href;
  };

  async function sendVerification(account: Account, context: RequestContext): Promise<void> {
    const token = await db.transaction(async (tx) => {
      const value = await insertToken(tx, { accountId: account.id, purpose: 'verify_email', email: account.email, ttlSeconds: deps.ttl.emailVerification }, clock.now());
      await audit.record({ event: 'email.verification_sent', accountId: account.id, email: account.email, ip: context.ip, userAgent: context.userAgent }, tx);
      return value;
    });
    mail(account.email, 'verify-email', { name: account.name, link: link('/account/verify-email', token, context), expiresInSeconds: deps.ttl.emailVerification }, context);
  }

  return {
    /**
     * `onCreated` hears of the account only when this request created it (never for a taken
     * email), so the sign-in that registered can continue as that account once it is verified.
     */
    async register(input: { email: string; password: string; name?: string | undefined }, context: RequestContext, options: { onCreated?: (accountId: string) => Promise<void> } = {}): Promise<{ ok: true } | FieldProblem> {
      const email = emailSchema.safeParse(input.email);
      if (!email.success) return invalidEmail;
      const name = nameSchema.safeParse(input.name ?? '');
      if (!name.success) return { ok: false, field: 'name', code: 'name.too_long', message: 'Use at most 200 characters for your name.' };
      const check = accounts.passwordPolicy.check(input.password, { email: email.data });
      if (!check.ok) return passwordProblem(check, accounts.passwordPolicy);
      await limit(limiters.registerIp, limiters.registerEmail, context.ip, email.data, 'sign-up attempts');

      const where = { email: email.data, ip: context.ip, userAgent: context.userAgent };
      const alreadyRegistered = async (existing: Account) => {
        await audit.record({ event: 'account.registration_attempted', reason: 'email_taken', accountId: existing.id, ...where });
        mail(existing.email, 'registration-attempt', { loginUrl: deps.issuer }, context);
      };
      deps.background.run('registration', async () => {
        const existing = await accounts.findByEmail(email.data);
        if (existing) return alreadyRegistered(existing);
        const passwordHash = await hashPassword(input.password);
        let created: { account: Account; token: string };
        try {
          created = await db.transaction(async (tx) => {
            const account = await insertAccount(tx, { email: email.data, emailVerified: false, passwordHash, name: name.data });
            const token = await insertToken(tx, { accountId: account.id, purpose: 'verify_email', email: account.email, ttlSeconds: deps.ttl.emailVerification }, clock.now());
            await audit.record({ event: 'account.registered', accountId: account.id, ...where }, tx);
            return { account, token };
          });
        } catch (error) {
          // Registered by a concurrent request a moment ago: the same as any taken email.
          if (!(isAppError(error) && error.code === 'account.email_taken')) throw error;
          const raced = await accounts.findByEmail(email.data);
          return raced ? alreadyRegistered(raced) : undefined;
        }
        mail(created.account.email, 'verify-email', { name: created.account.name, link: link('/account/verify-email', created.token, context), expiresInSeconds: deps.ttl.emailVerification }, context);
        await options.onCreated?.(created.account.id);
      });
      return { ok: true };
    },

    /** Sends a fresh verification link if the email belongs to an unverified account. Same answer for any email. */
    async resendVerification(emailInput: string, context: RequestContext): Promise<{ ok: true } | FieldProblem> {
      const email = emailSchema.safeParse(emailInput);
      if (!email.success) return invalidEmail;
      await limit(limiters.resendIp, limiters.resendEmail, context.ip, email.data, 'requests for a new link');
      deps.background.run('verification resend', async () => {
        const account = await accounts.findByEmail(email.data);
        if (account && !account.emailVerified && !account.disabled) await sendVerification(account, context);
      });
      return { ok: true };
    },

    /** True when the link is one we sent and it is still usable (the page shows a form only then). */
    async isValidLink(token: string, purpose: 'verify_email' | 'reset_password'): Promise<boolean> {
      return (await findValidToken(db, token, purpose, clock.now())) !== null;
    },

    /** The address a still valid link was mailed to (the reset page shows it beside the new password), or null. */
    async linkEmail(token: string, purpose: 'verify_email' | 'reset_password'): Promise<string | null> {
      return (await findValidToken(db, token, purpose, clock.now()))?.email ?? null;
    },

    /** Uses a verification link: the account's email is verified. Null when the link is not valid. */
    async verifyEmail(token: string, context: RequestContext): Promise<Account | null> {
      return db.transaction(async (tx) => {
        const used = await consumeToken(tx, token, 'verify_email', clock.now());
        if (!used) return null;
        const account = await findAccountById(tx, used.accountId);
        // A link sent to an address the account no longer has verifies nothing.
        if (!account || account.email.toLowerCase() !== used.email.toLowerCase()) return null;
        await markEmailVerified(tx, account.id);
        await audit.record({ event: 'email.verified', accountId: account.id, email: account.email, ip: context.ip, userAgent: context.userAgent }, tx);
        return { ...account, emailVerified: true };
      });
    },

    /** "Forgot password?": mails a reset link when an active account has the email. Same answer for any email. */
    async requestReset(emailInput: string, context: RequestContext): Promise<{ ok: true } | FieldProblem> {
      const email = emailSchema.safeParse(emailInput);
      if (!email.success) return invalidEmail;
      await limit(limiters.resetIp, limiters.resetEmail, context.ip, email.data, 'password reset requests');
      const where = { email: email.data, ip: context.ip, userAgent: context.userAgent };
      deps.background.run('password reset request', async () => {
        const account = await accounts.findByEmail(email.data);
        if (!account || account.disabled) {
          await audit.record({ event: 'password_reset.requested', reason: account ? 'disabled' : 'unknown_email', accountId: account?.id, ...where });
          return;
        }
        const token = await db.transaction(async (tx) => {
          const value = await insertToken(tx, { accountId: account.id, purpose: 'reset_password', email: account.email, ttlSeconds: deps.ttl.passwordReset }, clock.now());
          await audit.record({ event: 'password_reset.requested', accountId: account.id, ...where }, tx);
          return value;
        });
        mail(account.email, 'reset-password', { link: link('/account/reset-password', token, context), expiresInSeconds: deps.ttl.passwordReset }, context);
      });
      return { ok: true };
    },

    /**
     * Sets a new password through a reset link. Then every session of the account ends and every
     * grant, refresh and access token it holds is revoked, and its remembered consents are
     * forgotten: whoever had the old password is out everywhere.
     */
    async resetPassword(token: string, password: string, context: RequestContext): Promise<{ ok: true } | { ok: false; field: 'link'; code: 'link.invalid'; message: string } | FieldProblem> {
      const invalidLink = { ok: false, field: 'link', code: 'link.invalid', message: 'This reset link has expired or was already used. Ask for a new one.' } as const;
      const pending = await findValidToken(db, token, 'reset_password', clock.now());
      const account = pending ? await findAccountById(db, pending.accountId) : null;
      if (!pending || !account) return invalidLink;
      const check = accounts.passwordPolicy.check(password, { email: account.email });
      if (!check.ok) return passwordProblem(check, accounts.passwordPolicy);
      const passwordHash = await hashPassword(password);
      const done = await db.transaction(async (tx) => {
        const now = clock.now();
        if (!(await consumeToken(tx, token, 'reset_password', now))) return false;
        await updateAccountPasswordHash(tx, account.id, passwordHash);
        await retireTokens(tx, account.id, 'reset_password', now);
        // The link reached the mailbox, so the address is the person's.
        if (pending.email.toLowerCase() === account.email.toLowerCase()) await markEmailVerified(tx, account.id);
        const consents = await deleteConsentsOf(tx, account.id);
        await audit.record({ event: 'password_reset.completed', accountId: account.id, email: account.email, ip: context.ip, userAgent: context.userAgent, details: { consentsRemoved: consents } }, tx);
        return true;
      });
      if (!done) return invalidLink;
      const revoked = await deps.revokeAccountState(account.id);
      await deps.protection.clear(account.email);
      deps.logger.info({ event: 'password_reset.revoked', accountId: account.id, records: revoked }, 'sessions, grants and tokens revoked after password reset');
      mail(account.email, 'password-changed', { when: clock.now() }, context);
      return { ok: true };
    },
  };
}
