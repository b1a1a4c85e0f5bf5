import { createRedisClient, type RedisClient } from './db/redis-connect.ts';
import { connectRecordCache } from './db/redis-record-cache.ts';
import type Provider from 'oidc-provider';
import type { Adapter } from 'oidc-provider';
import type { Config } from './config/schema.ts';
import { ConfigError } from './config/load.ts';
import { connectDatabase } from './db/connect.ts';
import type { Database } from './db/database.ts';
import { migrate } from './db/migrate.ts';
import { createAppLogger, type Logger } from './log.ts';
import { createAccountService, type AccountService } from './accounts/service.ts';
import { createClientService, type ClientService } from './clients/service.ts';
import { createResourceService, type ResourceService } from './resources/service.ts';
import { createRbacService, type RbacService } from './rbac/service.ts';
import { createConsentService, type ConsentService } from './consents/service.ts';
import { createPages, viewsDir, type Pages } from './pages/render.ts';
import { createTheme, type Theme } from './pages/theme.ts';
import { createCatalogue, type Catalogue } from './i18n/catalogue.ts';
import { loadMfaKeys, hasSealedSecrets } from './mfa/keys.ts';
import { createMfaService, type MfaService } from './mfa/service.ts';
import { createWebAuthn, type WebAuthn } from './mfa/webauthn.ts';
import { createMfaAdmin, type MfaAdmin } from './mfa/admin.ts';
import { createMfaPolicy, type MfaPolicy } from './mfa/policy.ts';
import type { AttemptStore } from './federation/attempt-store.ts';
import { pendingRegistrations, type PendingRegistrations } from './interactions/pending-registration.ts';
import { pendingSecondFactors, type PendingSecondFactors } from './interactions/pending-second-factor.ts';
import { createProvider } from './oidc/provider.ts';
import { createClientAdapter } from './oidc/client-adapter.ts';
import { createClientValidator } from './oidc/client-validator.ts';
import { accountConsoleClient } from './account/client.ts';
import { createSigningKeyService, type SigningKeyService } from './oidc/keys/service.ts';
import { createKeySealer, KeySealError } from './oidc/keys/sealing.ts';
import { createKeyRing, type KeyRing } from './oidc/keys/key-ring.ts';
import { followSigningKeys, type KeyFollower } from './oidc/keys/follow.ts';
import { createProviderHolder, type ProviderHolder } from './oidc/provider-holder.ts';
import { loadCookieKeys } from './oidc/cookie-keys.ts';
import { createRedisAdapterFactory } from './oidc/adapters/redis.ts';
import { createSqlAdapterFactory, deleteExpiredPayloads } from './oidc/adapters/sql.ts';
import { createSqliteAdapterFactory } from './oidc/adapters/sqlite.ts';
import { createProviderStateFile, type ProviderStateFile } from './db/state-sqlite.ts';
import { importEmbeddedState } from './db/state-import.ts';
import { createCsrf, type Csrf } from './interactions/csrf.ts';
import { AppError } from './errors.ts';
import { createUpstreams } from './federation/upstreams.ts';
import type { Upstream } from './federation/upstream.ts';
import { createRedisAttemptStore, createSqlAttemptStore } from './federation/attempt-store.ts';
import { createFederationService, type FederationService } from './federation/service.ts';
import { createPasswordPolicy } from './accounts/password-policy.ts';
import { createSignInService, type SignInService } from './accounts/sign-in.ts';
import { createSelfService, type SelfService } from './accounts/self-service.ts';
import { deleteExpiredTokens } from './accounts/tokens-repository.ts';
import { createAuditLog, type AuditLog } from './audit/service.ts';
import { createUserAdmin, type UserAdmin } from './accounts/user-admin.ts';
import { createAccountActivity, type AccountActivity } from './audit/activity.ts';
import { SESSION_DEVICE_MODEL, sessionDevices } from './sessions/devices.ts';
import { recordSessionDevices } from './sessions/record-device.ts';
import { createSessionService, type SessionService } from './sessions/service.ts';
import { createConnectedApps, type ConnectedApps } from './connected-apps/service.ts';
import { createAccountSettings, type AccountSettings } from './accounts/settings.ts';
import { sessionGrantIds } from './oidc/session-grants.ts';
import { createAccountLinks, type AccountLinks } from './federation/account-links.ts';
import { createAccountExport, type AccountExporter } from './account-data/export.ts';
import { createAccountDeletion, type AccountDeletion } from './account-data/deletion.ts';
import { createLimiterFactory } from './security/rate-limits.ts';
import { deleteExpiredRateLimits } from './security/counters-sql.ts';
import { systemClock, type Clock } from './clock.ts';
import { createLoginProtection } from './security/login-protection.ts';
import { createDeviceFlowLimits } from './interactions/device-flow.ts';
import { createMailer, type Mailer } from './mail/mailer.ts';
import { createBackground, type Background } from './background.ts';
import { createMailRenderer } from './mail/templates.ts';
import { createAccountStateStore, type AccountStateStore, type RevokeAccountState } from './oidc/adapters/account-state.ts';
import { adminResourceIndicator, ensureAdminResource } from './admin/bootstrap.ts';
import { ensureAccountResource } from './account/api/resource.ts';
import { createMetrics, type Metrics } from './observability/metrics.ts';
import { instrumentAdapterFactory } from './observability/instrument-adapter.ts';
import { ACCOUNT_KEY_PREFIX, applyConfigNotice, createConfigCache, noConfigCache, touchesAccounts, touchesConfig, type ConfigCache } from './cache/config-cache.ts';
import { listenForChanges } from './db/listen.ts';
import { createRedisRefreshRotations, createSqlRefreshRotations, createSqliteRefreshRotations, type RefreshRotations } from './oidc/refresh-rotations.ts';
import { watchProvider } from './oidc/diagnostics.ts';
import { JWT_RECORD_MODEL } from './oidc/jwt-introspection.ts';
import { createOutboundFetch, parseAllowList } from './http/outbound.ts';
import { createJobQueue, type JobQueue } from './events/queue.ts';
import { attachBackchannelLogout, BACKCHANNEL_LOGOUT_QUEUE, createBackchannelLogouts, queueDefinition } from './events/backchannel-logout.ts';
import { createLogoutDelivery } from './events/backchannel-logout-delivery.ts';
import type { AuditOutbox } from './audit/service.ts';
import { createWebhookOutbox, webhookQueueDefinition, WEBHOOK_QUEUE } from './events/webhooks/outbox.ts';
import { createWebhookService, type WebhookService } from './events/webhooks/service.ts';
import { createWebhookSealer } from './events/webhooks/secret.ts';
import { createWebhookDelivery } from './events/webhooks/delivery.ts';
import { createAuditFeed, type AuditFeed } from './events/audit-feed.ts';
import { createDpopProofChecker, type DpopProofChecker } from './http/dpop-proof.ts';
import { signingAlgorithmChoices } from './oidc/algorithms.ts';

export interface Deps {
  config: Config;
  logger: Logger;
  db: Database;
  redis: RedisClient | null;
  provider: Provider;
  accounts: AccountService;
  clients: ClientService;
  resources: ResourceService;
  rbac: RbacService;
  consents: ConsentService;
  pages: Pages;
  theme: Theme;
  mfa: MfaService;
  /** Passkeys and security keys: ceremony options and verification (src/mfa/webauthn.ts). */
  webauthn: WebAuthn;
  mfaAdmin: MfaAdmin;
  /** Who must have a second factor, and which level each sign-in must reach (src/mfa/policy.ts). */
  mfaPolicy: MfaPolicy;
  mfaTrustBrowserDays: number;
  clock: Clock;
  /** Short-lived server-side records (ceremonies, pending steps), where provider state lives. */
  attempts: AttemptStore;
  requireVerifiedEmail: boolean;
  pendingRegistrations: PendingRegistrations;
  pendingSecondFactors: PendingSecondFactors;
  csrf: Csrf;
  upstreams: Map<string, Upstream>;
  federation: FederationService;
  issuer: string;
  signIn: SignInService;
  selfService: SelfService;
  audit: AuditLog;
  mailer: Mailer;
  background: Background;
  /** Durable jobs: back-channel logout and webhook deliveries (src/events/queue.ts). */
  jobs: JobQueue;
  revokeAccountState: RevokeAccountState;
  accountState: AccountStateStore;
  users: UserAdmin;
  /** A person's recent security events, their provider sessions and connected applications (the account console, the account API). */
  accountActivity: AccountActivity;
  deviceSessions: SessionService;
  connectedApps: ConnectedApps;
  /** A person's own profile, sign-in address and password (the account console, the account API). */
  settings: AccountSettings;
  /** A person's own upstream links, their data export and deleting their account (the account console, the account API). */
  accountLinks: AccountLinks;
  accountExport: AccountExporter;
  accountDeletion: AccountDeletion;
  /** The signing keys' lifecycle: list, rotate, retire, the schedule (src/oidc/keys/service.ts). */
  signingKeys: SigningKeyService;
  /** The keys this instance publishes and verifies our own tokens with, following every change. */
  keyRing: KeyRing;
  /** The oidc-provider instances: `provider` forwards to the request's; a key change builds the next. */
  providers: ProviderHolder;
  /** The admin API's own resource indicator (<issuer>/admin/api/v1). */
  adminResource: string;
  registrationEnabled: boolean;
  passwordMinLength: number;
  /** Prometheus metrics; null when disabled (METRICS_ENABLED=false) and in the CLI. */
  metrics: Metrics | null;
  /** Clients, resources and roles remembered between requests (a no-op cache when off). */
  configCache: ConfigCache;
  /** Which request rotated a refresh token into what, for the grace window (src/oidc/refresh-grace.ts). */
  refreshRotations: RefreshRotations;
  /** Records of the JWT access tokens issued under a grant, for introspection (src/oidc/jwt-introspection.ts). */
  jwtAccessTokenRecords: Adapter;
  /** DPoP proofs sent to our own APIs (admin, account) with DPoP-bound tokens (src/http/dpop-proof.ts). */
  dpopProofs: DpopProofChecker;
  /** Webhooks: the operators' settings and the signed deliveries of audit events (src/events/webhooks/). */
  webhooks: WebhookService;
  /** The audit trail as it grows, for `idp audit tail` and the admin API's event stream (src/events/audit-feed.ts). */
  auditFeed: AuditFeed;
  close(): Promise<void>;
  /** What close() has not finished yet, by name, for a shutdown cut short (src/lifecycle.ts). */
  unclosed(): string[];
  /** Shutdown begins (src/lifecycle.ts): the audit event streams end, so their connections can close. */
  closing(): void;
}

/** Run by close(), in order; `label` names it when a shutdown deadline cuts it short. */
type Cleanup = (() => Promise<unknown> | void) & { label?: string };
const labelled = (label: string, cleanup: () => Promise<unknown> | void): Cleanup => Object.assign(cleanup, { label });

/** The channel migration 0014 notifies on whenever a cached table changes. */
const CONFIG_CHANNEL = 'idp_config_changed';

// Expired rows (provider state, rate-limit counters, used links) are ignored already; the sweep
// only keeps the tables small.
const CLEANUP_INTERVAL_MS = 10 * 60 * 1000;

/** The composition root: the one place that opens connections and wires services together. */
export async function buildDeps(config: Config, options: { role: 'server' | 'cli'; logger?: Logger; clock?: Clock }): Promise<Deps> {
  const logger = options.logger ?? createAppLogger(config);
  // Lock windows, rate-limit windows and link expiry follow this clock; tests pass one they move.
  const clock = options.clock ?? systemClock;
  const metrics = options.role === 'server' && config.metrics.enabled ? createMetrics() : null;
  const db = await connectDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, role: options.role, timeouts: config.timeouts });
  if (metrics) db.setObserver((operation, seconds, ok) => metrics.observeQuery(operation, seconds, ok));
  const cleanups: Cleanup[] = [labelled('database', () => db.close())];
  const finished = new Set<Cleanup>();
  try {
    const applied = await migrate(db);
    if (applied.length) logger.info({ applied }, 'database migrated');

    let redis: RedisClient | null = null;
    if (config.redisUrl) {
      // The CLI never touches provider state, so it connects only if something asks.
      redis = createRedisClient(config.redisUrl, { lazyConnect: true, timeouts: config.timeouts });
      redis.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));
      const client = redis;
      cleanups.unshift(labelled('redis', () => client.quit().catch(() => client.disconnect())));
      if (options.role === 'server') await redis.connect();
    }
    // Provider-state reads served from memory, tracked by Redis (the CLI reads too little to gain).
    const recordCache = config.redisUrl && options.role === 'server' ? connectRecordCache(config.redisUrl, { maxEntries: config.redisCacheEntries, timeouts: config.timeouts, logger }) : null;
    if (recordCache) cleanups.unshift(labelled('redis record cache', () => recordCache.close()));
    // Embedded: provider state in a SQLite file beside PGlite (src/db/state-sqlite.ts). Opened at
    // once by a server, so a bad file stops start-up; by the CLI only when a command touches it.
    // Closed after everything registered below, each of which is unshifted before it.
    let stateFile: ProviderStateFile | null = null;
    if (!redis && db.embedded) {
      const file = createProviderStateFile(config.dataDir);
      cleanups.unshift(labelled('provider state', () => file.close()));
      if (options.role === 'server') {
        file.open();
        // Once per install upgraded from a version that kept this state in PGlite.
        await importEmbeddedState(db, file, logger);
      }
      stateFile = file;
    }
    const storage = redis ? createRedisAdapterFactory(redis, config.redisKeyPrefix, { logger, cache: recordCache }) : stateFile ? createSqliteAdapterFactory(stateFile) : createSqlAdapterFactory(db);
    // One wrapper per call (503 on an outage; timed when metrics are on), built once per model.
    const stateAdapter = instrumentAdapterFactory(storage, metrics?.adapterOperationDuration ?? null);
    if (options.role === 'server') {
      const sweep = async () => {
        await deleteExpiredTokens(db);
        if (!redis) await Promise.all([stateFile ? stateFile.deleteExpired() : deleteExpiredPayloads(db), deleteExpiredRateLimits(db, clock.now())]);
      };
      const timer = setInterval(() => {
        sweep().catch((error: unknown) => logger.warn({ err: error }, 'expired state cleanup failed'));
      }, CLEANUP_INTERVAL_MS);
      timer.unref();
      cleanups.unshift(labelled('cleanup timer', () => clearInterval(timer)));
    }

    // The audit log is made a moment later; the service asks for it only when it records.
    const accounts = createAccountService(db, { passwordPolicy: createPasswordPolicy({ minLength: config.passwordMinLength }), audit: () => audit, cache: () => configCache });
    // Webhook deliveries are queued with each event (src/events/webhooks/outbox.ts), once the
    // outbox is made below, after the job queue and the config cache.
    let webhookOutbox: AuditOutbox | null = null;
    const audit = createAuditLog(db, logger, { outbox: () => webhookOutbox });
    const limiter = createLimiterFactory({ redis, db, sqlite: stateFile, prefix: config.redisKeyPrefix, clock });
    const protection = createLoginProtection(limiter, { lockout: config.lockout, perAccount: config.limits.loginFailuresPerAccount, perIp: config.limits.loginFailuresPerIp });
    const signIn = createSignInService({
      accounts, protection, audit, requireVerifiedEmail: config.requireVerifiedEmail,
      onOutcome: metrics ? (outcome) => metrics.recordLogin('password', outcome) : undefined,
      onSecondFactor: metrics ? (method, outcome) => metrics.recordSecondFactor?.(method, outcome) : undefined,
      factorLimits: {
        totp: limiter('mfa-totp', config.limits.secondFactorFailuresPerAccount),
        recovery: limiter('mfa-recovery', config.limits.secondFactorFailuresPerAccount),
        passkey: limiter('mfa-passkey', config.limits.secondFactorFailuresPerAccount),
      },
      // `mfa` is made below, once its keys are loaded; these run only on requests, after that.
      secondFactors: {
        hasFactor: (accountId) => mfa.hasFactor(accountId),
        verify: async (accountId, method, code) => (method === 'totp' ? (await mfa.verifyTotp(accountId, code)) === 'ok' : (await mfa.useRecoveryCode(accountId, code)).ok),
      },
    });
    const theme = createTheme({ themeDir: config.themeDir ?? null, colors: config.branding.colors, logoUrl: config.branding.logoUrl ?? null, builtinViewsDir: viewsDir });
    const catalogue = loadCatalogue(config);
    const pages = createPages({ brand: { name: config.branding.name }, catalogue, theme });
    const mailer = createMailer({ smtpUrl: config.mail.smtpUrl, from: config.mail.from, dataDir: config.dataDir, logger });
    cleanups.unshift(labelled('mailer', () => mailer.close()));
    // Drained before the mailer and the database close: its tasks use both.
    const background = createBackground(logger);
    cleanups.unshift(labelled('background tasks', () => background.drain()));
    // Durable jobs (src/events/queue.ts): stopped before the database closes; what is running
    // then is finished by this or another instance once its lease ends.
    const jobs = createJobQueue({ db, logger, supervise: options.role === 'server' });
    await jobs.start();
    cleanups.unshift(labelled('job queue', () => jobs.stop(Math.floor(config.timeouts.shutdownMs / 2))));
    // Back-channel logout: every session ended through the account state store is announced to
    // its clients first (src/events/backchannel-logout.ts); the provider is made below, before any use.
    const backchannelLogouts = createBackchannelLogouts({ jobs, provider: () => providers.current(), logger, definition: queueDefinition(config.backchannelLogout, config.timeouts.outboundMs) });
    const accountState = createAccountStateStore({ redis, prefix: config.redisKeyPrefix, db, sqlite: stateFile, sessionsEnding: backchannelLogouts.sessionsEnding });
    const revokeAccountState: RevokeAccountState = (accountId) => accountState.revokeAll(accountId);
    const renderMail = createMailRenderer({ productName: config.branding.name, catalogue, theme });
    const selfService = createSelfService({
      db, accounts, audit, mailer, renderMail, limiter, limits: config.limits,
      ttl: config.ttl, issuer: config.issuer, revokeAccountState, protection, background, logger, clock,
    });
    const attempts = redis ? createRedisAttemptStore(redis, config.redisKeyPrefix) : createSqlAttemptStore(db);
    const federation = createFederationService(db, async (email, password, context) => {
      const result = await signIn.signIn(email, password, context);
      return result.ok ? result.account : null;
    }, attempts, audit);
    let configCache: ConfigCache = noConfigCache;
    // The CLI runs one command and exits: nothing to cache. A server caches unless told not to.
    if (options.role === 'server' && config.configCache.enabled) {
      const cache = createConfigCache({ onLookup: metrics ? (result) => metrics.configCacheLookups.inc({ result }) : undefined });
      if (db.onNotification) {
        // Embedded: every writer, the CLI included, goes through this process's database, so
        // each notification is heard here as it commits and the feed can never be down.
        db.onNotification((channel, payload) => {
          if (channel === CONFIG_CHANNEL) applyConfigNotice(cache, payload);
        });
        await db.query(`LISTEN ${CONFIG_CHANNEL}`);
        cache.setActive(true);
      } else if (!db.embedded) {
        // Our own changes are seen when they commit; everyone else's (other instances, the CLI,
        // plain SQL) when PostgreSQL's notification arrives on the feed, a moment later.
        // (Embedded needs no observer: the notification is heard before the commit returns.)
        db.setWriteObserver((statement) => {
          if (touchesConfig(statement)) cache.invalidate();
          // Which account the statement changed is in its values, not its text: forget them all
          // (account changes by this instance are rare next to token requests).
          else if (touchesAccounts(statement)) cache.forgetPrefix(ACCOUNT_KEY_PREFIX);
        });
        const feed = await listenForChanges(db.pool.options, CONFIG_CHANNEL, {
          notify: (payload) => applyConfigNotice(cache, payload),
          state: (listening) => cache.setActive(listening),
        }, logger);
        cleanups.unshift(labelled('change feed', () => feed.close()));
      }
      configCache = cache;
    }
    webhookOutbox = createWebhookOutbox({ db, cache: configCache, jobs });
    const consents = createConsentService(db);
    const resources = createResourceService(db, configCache);
    const rbac = createRbacService(db, configCache);
    const [cookieKeys, adminResource, , mfaKeys] = await Promise.all([
      loadCookieKeys(db, config.cookieKeys), options.role === 'server' ? ensureAdminResource(db, config.issuer) : adminResourceIndicator(config.issuer),
      options.role === 'server' ? ensureAccountResource(db, config.issuer) : undefined,
      loadMfaKeys(db, config.encryptionKeys),
    ]);
    if (config.production && !mfaKeys.configured) {
      // Private signing keys always exist, and a key kept beside them in the database protects nothing.
      const sealedBefore = await hasSealedSecrets(db) || (await db.query('SELECT 1 FROM signing_keys WHERE private_jwk_sealed IS NOT NULL LIMIT 1')).rows.length > 0;
      throw new ConfigError(`NODE_ENV=production refuses development defaults: private signing keys and second-factor secrets are sealed at rest with ENCRYPTION_KEYS (or its older name MFA_ENCRYPTION_KEYS): set it to 32 random bytes, base64 (\`openssl rand -base64 32\`)${sealedBefore ? ', with the generated key from instance_secrets.mfa_keys last so what is sealed already still opens' : ''}`);
    }
    let keyFollower: KeyFollower | null = null;
    const signingKeys = createSigningKeyService({
      db, sealer: createKeySealer(mfaKeys.sealing), audit, clock, ttl: config.ttl,
      schedule: { rotationSeconds: config.signingKeys.rotationDays * 86_400, prepublishSeconds: config.signingKeys.prepublishSeconds },
      // This instance follows its own changes when they commit, not a notification later.
      changed: () => keyFollower?.refresh().catch((error: unknown) => logger.warn({ err: error }, 'signing keys could not be read after a change; the follower tries again')),
    });
    await signingKeys.ensure();
    const published = await signingKeys.loadPublished().catch((error: unknown) => {
      throw error instanceof KeySealError ? new ConfigError(error.message) : error;
    });
    const keyRing = createKeyRing(published.jwks);
    const webhookQueue = webhookQueueDefinition(config.webhooks, config.timeouts.outboundMs);
    const webhooks = createWebhookService({ db, sealer: createWebhookSealer(mfaKeys.sealing), audit, jobs, clock, queue: webhookQueue });
    const mfa = createMfaService({ db, keys: mfaKeys, issuer: config.issuer, brandName: config.branding.name, clock });
    const webauthn = createWebAuthn({ db, issuer: config.issuer, brandName: config.branding.name, clock, challenges: attempts });
    // Not timed as a storage adapter: a client lookup is a config cache hit or a timed SQL query.
    // The account console is a client served from code (src/account/client.ts), never from the table.
    const clientAdapter = createClientAdapter(db, configCache, [accountConsoleClient(config.issuer, config.branding.name)]);
    const jwtRecords = stateAdapter(JWT_RECORD_MODEL);
    const mfaPolicy = createMfaPolicy({ requireAll: config.mfa.required, requiredRoles: config.mfa.requiredRoles, rolesOf: async (accountId) => (await rbac.forAccount(accountId)).roles });
    const outboundFetch = createOutboundFetch({
      policy: { allowList: parseAllowList(config.outboundAllowedHosts), allowLoopback: !config.production },
      timeoutMs: config.timeouts.outboundMs,
      logger,
    });
    cleanups.unshift(labelled('outbound connections', () => outboundFetch.close()));
    // Where each provider session was used (browser, address, last use), beside the session itself.
    const devices = sessionDevices(stateAdapter(SESSION_DEVICE_MODEL), clock, config.ttl.session);
    const deviceFlowLimits = createDeviceFlowLimits(limiter, { wrongCodesPerIp: config.limits.deviceCodeFailuresPerIp, codeLifetimeSeconds: config.ttl.deviceCode });
    // Every instance is built here, with everything attached to it: the first, and one per key
    // change (src/oidc/provider-holder.ts).
    const providers = createProviderHolder((keys) => {
      const instance = createProvider({
        config, stateAdapter, clientAdapter, jwtRecords, accounts, consents, resources, rbac, signingKeys: keys, cookieKeys, pages, logger, mfaPolicy, outboundFetch, deviceFlowLimits,
      });
      metrics?.instrumentProvider(instance);
      watchProvider(instance, { logger, audit, background, metrics });
      recordSessionDevices(instance, devices, logger);
      attachBackchannelLogout(instance, backchannelLogouts, logger);
      return instance;
    }, keyRing.providerKeys);
    const provider = providers.provider;
    if (options.role === 'server') {
      keyFollower = await followSigningKeys({
        db, service: signingKeys, logger, clock, initial: published.records, listen: config.configCache.enabled,
        onChange: (next) => {
          keyRing.update(next.jwks);
          providers.replace(next.jwks);
        },
      });
      const follower = keyFollower;
      cleanups.unshift(labelled('signing key follower', () => follower.close()));
    }
    if (options.role === 'server') {
      await backchannelLogouts.ready();
      await jobs.work(BACKCHANNEL_LOGOUT_QUEUE, createLogoutDelivery({ provider: () => providers.current(), outboundFetch, audit, logger, metrics }));
      metrics?.watchBackchannelLogoutQueue(() => jobs.pending(BACKCHANNEL_LOGOUT_QUEUE));
      // The workers stop before the outbound connections close (the later cleanup runs first), so
      // a delivery under way at shutdown can finish; the job queue's own cleanup is then a no-op.
      cleanups.unshift(labelled('job workers', () => jobs.stop(Math.floor(config.timeouts.shutdownMs / 2))));
    }
    if (options.role === 'server') {
      // Stopped with the other workers (above). Two per instance on PostgreSQL, so one slow
      // receiver does not hold up every other webhook's deliveries (the queue keeps each
      // account's events in order); one on the embedded database, whose single backend they share.
      await jobs.define(WEBHOOK_QUEUE, webhookQueue);
      const deliver = createWebhookDelivery({
        db, webhooks, audit, fetch: outboundFetch, logger, clock, count: metrics ? (result) => metrics.webhookDeliveries.inc({ result }) : undefined,
      });
      for (let worker = 0; worker < (db.embedded ? 1 : 2); worker++) await jobs.work(WEBHOOK_QUEUE, deliver);
    }
    // Its followers end first at shutdown (closing(), before the servers drain), again here.
    const auditFeed = createAuditFeed({ db, logger });
    cleanups.unshift(labelled('audit feed', () => auditFeed.close()));
    const clients = createClientService(db, createClientValidator(provider));
    const users = createUserAdmin({ db, accounts, rbac, accountState, audit });
    const deviceSessions = createSessionService({ accountState, devices, audit });
    const connectedApps = createConnectedApps({ db, provider, accountState, resources, jwtRecords, audit });
    const settings = createAccountSettings({
      db, accounts, audit, mailer, renderMail, limiter, protection, accountState, sessionGrants: sessionGrantIds(provider), background, logger, clock,
      issuer: config.issuer, locales: catalogue.locales, emailLinkTtlSeconds: config.ttl.emailVerification,
      // A new address gets a verification link, so a change counts as one: the resend budgets.
      emailChangeLimits: { perAccount: config.limits.verificationResendsPerIp, perAddress: config.limits.verificationResendsPerEmail },
    });
    const upstreams = createUpstreams(config.upstreams, { timeoutMs: config.timeouts.upstreamMs });
    return {
      config, logger, db, redis, provider, accounts, clients, resources, rbac, consents, pages, theme,
      csrf: createCsrf(cookieKeys[0]!),
      upstreams,
      accountLinks: createAccountLinks({ db, audit, upstreamIds: () => upstreams.keys() }),
      accountExport: createAccountExport({
        db, mfa, rbac, accountState, audit, issuer: config.issuer, now: () => clock.now(),
        upstreamName: (id) => upstreams.get(id)?.displayName ?? null,
      }),
      accountDeletion: createAccountDeletion({ users }),
      federation,
      issuer: config.issuer,
      signIn, selfService, audit, mailer, background, jobs, revokeAccountState, accountState, signingKeys, keyRing, providers, adminResource, mfa, webauthn,
      users,
      accountActivity: createAccountActivity(db),
      deviceSessions,
      connectedApps,
      settings,
      mfaAdmin: createMfaAdmin({ users, mfa, audit }),
      mfaPolicy,
      mfaTrustBrowserDays: config.mfa.trustBrowserDays,
      clock,
      attempts,
      registrationEnabled: config.registration.enabled,
      requireVerifiedEmail: config.requireVerifiedEmail,
      pendingRegistrations: pendingRegistrations(attempts),
      pendingSecondFactors: pendingSecondFactors(attempts),
      passwordMinLength: config.passwordMinLength,
      metrics,
      configCache,
      jwtAccessTokenRecords: jwtRecords,
      // The algorithms discovery advertises for DPoP; iat within a minute: a brief window (RFC 9449 §11.1).
      dpopProofs: createDpopProofChecker({ clock, limiter, algorithms: signingAlgorithmChoices(keyRing.providerKeys).dPoPSigningAlgValues ?? [], windowSeconds: 60 }),
      refreshRotations: redis ? createRedisRefreshRotations(redis, config.redisKeyPrefix) : stateFile ? createSqliteRefreshRotations(stateFile) : createSqlRefreshRotations(db),
      async close() {
        for (const cleanup of cleanups) {
          await cleanup();
          finished.add(cleanup);
        }
      },
      unclosed: () => cleanups.filter((cleanup) => !finished.has(cleanup)).map((cleanup) => cleanup.label ?? 'cleanup'),
      webhooks,
      auditFeed,
      closing() {
        void auditFeed.close();
      },
    };
  } catch (error) {
    for (const cleanup of cleanups) await Promise.resolve(cleanup()).catch(() => undefined);
    throw error;
  }
}

/** The message catalogue; a theme's broken locale file or a default without messages stops start-up, saying which. */
function loadCatalogue(config: Config): Catalogue {
  try {
    return createCatalogue({ defaultLocale: config.defaultLocale, overrideDir: config.themeDir ?? null });
  } catch (error) {
    throw new ConfigError(`invalid configuration: ${config.themeDir ? 'themeDir/locales or ' : ''}defaultLocale: ${(error as Error).message}`);
  }
}
