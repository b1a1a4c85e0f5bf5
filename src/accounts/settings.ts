import type { Database } from '../db/database.ts';
import type { AuditLog } from '../audit/service.ts';
import type { Background } from '../background.ts';
import type { Clock } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { Mailer } from '../mail/mailer.ts';
import type { RenderMail } from '../mail/templates.ts';
import type { AccountStateStore } from '../oidc/adapters/account-state.ts';
import type { SessionGrantIds } from '../oidc/session-grants.ts';
import type { LoginProtection } from '../security/login-protection.ts';
import type { LimiterFactory } from '../security/rate-limits.ts';
import { createEmailChange, type EmailChange, type EmailChangeLimits } from './email-change.ts';
import { createPasswordChange, type PasswordChange } from './password-change.ts';
import { createProfileService, type ProfileService } from './profile-service.ts';
import type { AccountService } from './service.ts';

/**
 * What a signed-in person changes of their own account: profile claims, sign-in address,
 * password. The rules live here, without HTTP, for the account console's pages (src/account)
 * and the account API alike; each call takes a ChangeContext (src/accounts/change-context.ts)
 * saying who asks and through what, and audits what it changes.
 */
export interface AccountSettings {
  profile: ProfileService;
  email: EmailChange;
  password: PasswordChange;
}

export function createAccountSettings(deps: {
  db: Database;
  accounts: AccountService;
  audit: AuditLog;
  mailer: Mailer;
  renderMail: RenderMail;
  limiter: LimiterFactory;
  emailChangeLimits: EmailChangeLimits;
  emailLinkTtlSeconds: number;
  protection: LoginProtection;
  accountState: AccountStateStore;
  sessionGrants: SessionGrantIds;
  background: Background;
  logger: Logger;
  clock: Clock;
  issuer: string;
  /** The catalogue's languages, which a profile's `locale` may name. */
  locales: readonly string[];
}): AccountSettings {
  return {
    profile: createProfileService({ db: deps.db, audit: deps.audit, locales: deps.locales }),
    email: createEmailChange({
      db: deps.db, audit: deps.audit, mailer: deps.mailer, renderMail: deps.renderMail, limiter: deps.limiter, limits: deps.emailChangeLimits,
      ttlSeconds: deps.emailLinkTtlSeconds, issuer: deps.issuer, background: deps.background, clock: deps.clock,
    }),
    password: createPasswordChange({
      db: deps.db, accounts: deps.accounts, protection: deps.protection, audit: deps.audit, accountState: deps.accountState,
      sessionGrants: deps.sessionGrants, mailer: deps.mailer, renderMail: deps.renderMail, logger: deps.logger, clock: deps.clock,
    }),
  };
}
