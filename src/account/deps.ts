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
import type { AccountSettings } from '../accounts/settings.ts';
import type { Upstream } from '../federation/upstream.ts';
import type { AccountLinks } from '../federation/account-links.ts';
import type { AccountExporter } from '../account-data/export.ts';
import type { AccountDeletion } from '../account-data/deletion.ts';
import type { AccountActivity } from '../audit/activity.ts';
import type { SessionService } from '../sessions/service.ts';
import type { ConnectedApps } from '../connected-apps/service.ts';

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
  /** Profile, sign-in address and password: the rules behind /account/profile, /email, /password. */
  settings: AccountSettings;
  /** Linked accounts: the configured upstreams (sign-in to link), the linking rules. */
  upstreams: Map<string, Upstream>;
  accountLinks: AccountLinks;
  /** Your data: the download, and deleting the account. */
  accountExport: AccountExporter;
  accountDeletion: AccountDeletion;
  /** The account's recent security events, for the security page (src/audit/activity.ts). */
  accountActivity: AccountActivity;
  /** The account's provider sessions, and signing them out (src/sessions/service.ts). */
  deviceSessions: SessionService;
  /** Applications holding the account's grants or consents (src/connected-apps/service.ts). */
  connectedApps: ConnectedApps;
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
