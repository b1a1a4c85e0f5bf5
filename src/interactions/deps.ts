import type Provider from 'oidc-provider';
import type { AccountService } from '../accounts/service.ts';
import type { ConsentService } from '../consents/service.ts';
import type { Pages } from '../pages/render.ts';
import type { PendingRegistrations } from './pending-registration.ts';
import type { PendingSecondFactors } from './pending-second-factor.ts';
import type { Logger } from '../log.ts';
import type { Csrf } from './csrf.ts';
import type { FederationService } from '../federation/service.ts';
import type { Upstream } from '../federation/upstream.ts';
import type { SignInService } from '../accounts/sign-in.ts';
import type { SelfService } from '../accounts/self-service.ts';
import type { LoginRecorder } from '../observability/metrics.ts';
import type { AuditLog } from '../audit/service.ts';
import type { Background } from '../background.ts';
import type { MfaService } from '../mfa/service.ts';
import type { MfaPolicy } from '../mfa/policy.ts';
import type { WebAuthn } from '../mfa/webauthn.ts';
import type { Clock } from '../clock.ts';
import type { AttemptStore } from '../federation/attempt-store.ts';

/** What the interaction handlers need; wired in deps.ts. */
export interface InteractionDeps {
  provider: Provider;
  accounts: AccountService;
  consents: ConsentService;
  csrf: Csrf;
  pages: Pages;
  logger: Logger;
  /** Configured upstream identity providers by id, in button order. */
  upstreams: Map<string, Upstream>;
  federation: FederationService;
  /** The public base URL; upstream redirect URIs hang off it. */
  issuer: string;
  signIn: SignInService;
  selfService: SelfService;
  /** Whether people may create accounts on the hosted pages. */
  registrationEnabled: boolean;
  /** Sign-in waits for a verified email (a registration continues only after verifying). */
  requireVerifiedEmail: boolean;
  /** Accounts registered from a sign-in in progress, by interaction uid. */
  pendingRegistrations: PendingRegistrations;
  /** Sign-ins whose password was right and whose second factor is to come, by interaction uid. */
  pendingSecondFactors: PendingSecondFactors;
  /** Security events: federated sign-ins, sign-ups, links and refusals. */
  audit: AuditLog;
  /** Work after the response (audit lines of failure pages). */
  background: Background;
  /** Counts federated sign-ins; absent (or null) when metrics are off. */
  metrics?: LoginRecorder | null | undefined;
  /** Second factors: authenticator apps and recovery codes, and passkeys. */
  mfa: MfaService;
  webauthn: WebAuthn;
  /** Who must reach which level (src/mfa/policy.ts). */
  mfaPolicy: MfaPolicy;
  /** Days a browser may skip the second factor after one ("trust this browser"); 0: never. */
  mfaTrustBrowserDays: number;
  clock?: Clock | undefined;
  /** Short-lived server-side records (recovery codes waiting for their one showing). */
  attempts: AttemptStore;
}
