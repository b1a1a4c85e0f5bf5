import type Provider from 'oidc-provider';
import type { AccountService } from '../accounts/service.ts';
import type { AuditLog } from '../audit/service.ts';
import type { Clock } from '../clock.ts';
import type { AttemptStore } from '../federation/attempt-store.ts';
import type { Logger } from '../log.ts';
import type { MfaPolicy } from '../mfa/policy.ts';
import type { MfaService } from '../mfa/service.ts';
import type { WebAuthn } from '../mfa/webauthn.ts';
import type { Pages } from '../pages/render.ts';

/** What the account console needs; wired in deps.ts (the console is mounted in app.ts). */
export interface AccountConsoleDeps {
  /** Its sign-in is this provider's: codes are redeemed in-process, sessions checked against it. */
  provider: Provider;
  accounts: AccountService;
  mfa: MfaService;
  mfaPolicy: MfaPolicy;
  webauthn: Pick<WebAuthn, 'registrationOptions' | 'verifyRegistration' | 'renamePasskey'>;
  /** Console sessions, sign-in attempts, pending enrolments: short-lived, shared by every instance. */
  attempts: AttemptStore;
  audit: AuditLog;
  pages: Pages;
  logger: Logger;
  /** Freshness and idle time are decided by this clock (src/clock.ts). */
  clock: Clock;
  issuer: string;
  config: {
    account: { reauthSeconds: number; idleSeconds: number };
    ttl: { authorizationCode: number; interaction: number };
  };
}
