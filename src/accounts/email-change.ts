import type { Database } from '../db/database.ts';
import type { AuditLog } from '../audit/service.ts';
import type { Background } from '../background.ts';
import type { Clock } from '../clock.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { AccountMailTemplate, RenderMail } from '../mail/templates.ts';
import { AppError, isAppError } from '../errors.ts';
import { consume, limitKey, RateLimitedError, waitText, type LimiterFactory, type Rate } from '../security/rate-limits.ts';
import { findAccountByEmail, findAccountById, type Account } from './repository.ts';
import { consumeToken, findValidToken, insertToken, retireTokens } from './tokens-repository.ts';
import { updateAccountEmail } from './account-changes-repository.ts';
import { emailSchema } from './service.ts';
import type { ChangeContext } from './change-context.ts';

export type EmailChange = ReturnType<typeof createEmailChange>;

/** Why a new address was refused: `code` names the message (`account.profile.email.problems.<code>`). */
export type EmailChangeProblem = { ok: false; field: 'email'; code: 'invalid' | 'unchanged' };

export type EmailChangeOutcome =
  | { ok: true; account: Account; previous: string }
  // The link is unknown, used, expired, or was sent for another account.
  | { ok: false; reason: 'invalid_link' }
  // The address was taken by another account after the link was sent.
  | { ok: false; reason: 'taken'; email: string };

export interface EmailChangeLimits {
  /** Requests per account: each mails a link. */
  perAccount: Rate;
  /** Mails per new address, whoever asks: an address cannot be flooded through other accounts. */
  perAddress: Rate;
}

/**
 * Changing the address an account signs in with. The new address is only ever proven by a
 * link mailed to it, which the same account then opens: until then nothing changes. Whether the
 * new address belongs to another account is never shown: the answer is "check your new inbox"
 * either way, and the work that differs (the lookup, the token, which mail) runs after the
 * response, in the background, so its timing does not tell either. A taken address is told
 * someone tried (like a registration with a taken email); the old address is told once the
 * change is made.
 */
export function createEmailChange(deps: {
  db: Database;
  audit: AuditLog;
  mailer: Mailer;
  renderMail: RenderMail;
  limiter: LimiterFactory;
  limits: EmailChangeLimits;
  /** Link lifetime: the verification links' (TTL_EMAIL_VERIFICATION). */
  ttlSeconds: number;
  issuer: string;
  background: Background;
  clock: Clock;
}) {
  const { db, audit, clock } = deps;
  const limiters = {
    account: deps.limiter('email-change-account', deps.limits.perAccount),
    address: deps.limiter('email-change-address', deps.limits.perAddress),
  };

  function mail(to: string, template: AccountMailTemplate, data: Record<string, unknown>, context: ChangeContext): void {
    deps.mailer.sendInBackground({ to, ...deps.renderMail(template, data, context.locale) }, { template });
  }

  const link = (token: string, context: ChangeContext): string => {
    const url = new URL(`${deps.issuer}/account/email/confirm`);
    url.searchParams.set('token', token);
    if (context.locale) url.searchParams.set('lang', context.locale);
    return url.href;
  };

  async function limit(accountId: string, email: string): Promise<void> {
    for (const [limiter, key] of [[limiters.account, accountId], [limiters.address, email]] as const) {
      const result = await consume(limiter, limitKey(key));
      if (!result.ok) throw new RateLimitedError(`Too many address changes. Try again in ${waitText(result.retryAfterSeconds)}.`, result.retryAfterSeconds);
    }
  }

  /** The pending change a still valid link of this account names, or null. */
  async function pendingOf(accountId: string, token: string): Promise<{ email: string } | null> {
    const pending = await findValidToken(db, token, 'change_email', clock.now());
    return pending && pending.accountId === accountId ? { email: pending.email } : null;
  }

  return {
    /** How long a mailed link works, for the page that says so. */
    linkTtlSeconds: deps.ttlSeconds,

    /**
     * Asks to move the account to `emailInput`: a link to it, or, when another account has it,
     * a note to it that someone tried. The same answer either way; a malformed address or the
     * account's own is refused at once. A new request retires the links of earlier ones.
     * Throws RateLimitedError past the limits.
     */
    async request(accountId: string, emailInput: string, context: ChangeContext): Promise<{ ok: true; email: string } | EmailChangeProblem> {
      const parsed = emailSchema.safeParse(emailInput);
      if (!parsed.success) return { ok: false, field: 'email', code: 'invalid' };
      const email = parsed.data;
      const account = await findAccountById(db, accountId);
      if (!account || account.disabled) throw new AppError('account.not_found', 'the account is gone');
      if (account.email.toLowerCase() === email) return { ok: false, field: 'email', code: 'unchanged' };
      await limit(accountId, email);

      const where = { accountId, email: account.email, ip: context.ip, userAgent: context.userAgent, reason: context.via };
      deps.background.run('email change request', async () => {
        const owner = await findAccountByEmail(db, email);
        const token = await db.transaction(async (tx) => {
          const now = clock.now();
          await retireTokens(tx, accountId, 'change_email', now);
          // The same event on the asking account either way (a person can read their own
          // events); the attempt on a taken address is the owner's event.
          await audit.record({ event: 'email.change_requested', ...where, details: { to: email } }, tx);
          if (!owner) return insertToken(tx, { accountId, purpose: 'change_email', email, ttlSeconds: deps.ttlSeconds }, now);
          await audit.record({ event: 'email.change_attempted', reason: 'email_taken', accountId: owner.id, email: owner.email, ip: context.ip, userAgent: context.userAgent, details: { requestedBy: accountId } }, tx);
          return null;
        });
        if (token) mail(email, 'email-change-confirm', { link: link(token, context), expiresInSeconds: deps.ttlSeconds }, context);
        else mail(email, 'email-change-attempt', { loginUrl: deps.issuer }, context);
      });
      return { ok: true, email };
    },

    /** The new address a still valid link of this account names (the confirmation page shows it), or null. */
    pending: pendingOf,

    /**
     * Uses the link (once): the account signs in with the new address from now on, verified by
     * the link itself. Links mailed to the old address (verification, password reset) stop
     * working, and the old address is told. `email.changed` is audited with the change.
     */
    async confirm(accountId: string, token: string, context: ChangeContext): Promise<EmailChangeOutcome> {
      if (!(await pendingOf(accountId, token))) return { ok: false, reason: 'invalid_link' };
      let pendingEmail = '';
      try {
        const changed = await db.transaction(async (tx) => {
          const now = clock.now();
          const used = await consumeToken(tx, token, 'change_email', now);
          if (!used || used.accountId !== accountId) return null;
          pendingEmail = used.email;
          const account = await findAccountById(tx, accountId);
          if (!account || account.disabled) return null;
          if (!(await updateAccountEmail(tx, accountId, used.email))) return null;
          for (const purpose of ['change_email', 'verify_email', 'reset_password'] as const) await retireTokens(tx, accountId, purpose, now);
          await audit.record({
            event: 'email.changed', reason: context.via, accountId, email: used.email, ip: context.ip, userAgent: context.userAgent, details: { from: account.email, to: used.email },
          }, tx);
          return { previous: account.email, account: { ...account, email: used.email, emailVerified: true } };
        });
        if (!changed) return { ok: false, reason: 'invalid_link' };
        mail(changed.previous, 'email-changed', { email: changed.account.email, when: clock.now() }, context);
        return { ok: true, ...changed };
      } catch (error) {
        // Another account took the address between the mail and the click: nothing changed,
        // and the link stays unused (the transaction rolled back), useless until the address is free.
        if (isAppError(error) && error.code === 'account.email_taken') return { ok: false, reason: 'taken', email: pendingEmail };
        throw error;
      }
    },
  };
}
