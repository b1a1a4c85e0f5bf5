import { z } from 'zod';
import { parseSecretKey } from '../mfa/secret-box.ts';
import { redisUrlProblem } from '../db/redis-connect.ts';
import { contrastRatio } from '../pages/contrast.ts';

// Every TTL is explicit (seconds) so an operator can read what tokens live for without
// knowing oidc-provider's defaults. Values follow RFC 9700 guidance: short-lived codes and
// access tokens, longer refresh tokens that rotate on every use.
// A mailed link states its lifetime ("expires in 30 minutes", src/mail/templates.ts), so it is
// whole minutes; and it must outlive a slow mail delivery and a person finding the message.
const linkTtl = z.number().int()
  .min(300, 'a mailed link must live at least 300 seconds (5 minutes), or it may expire before the mail arrives')
  .refine((seconds) => seconds % 60 === 0, 'a mailed link lives whole minutes (a multiple of 60 seconds): the mail states its lifetime');

const ttlSchema = z.strictObject({
  accessToken: z.number().int().positive().default(3600),
  authorizationCode: z.number().int().positive().max(600).default(60),
  clientCredentials: z.number().int().positive().default(600),
  idToken: z.number().int().positive().default(3600),
  refreshToken: z.number().int().positive().default(14 * 24 * 3600),
  interaction: z.number().int().positive().default(3600),
  /** RFC 8628 §3.2 `expires_in`: how long a device's user code can be entered. */
  deviceCode: z.number().int().positive().max(3600).default(600),
  /** Email verification links (single-use). */
  emailVerification: linkTtl.max(30 * 86_400).default(24 * 3600),
  /** Password reset links (single-use). */
  passwordReset: linkTtl.max(24 * 3600).default(30 * 60),
  session: z.number().int().positive().default(14 * 24 * 3600),
  grant: z.number().int().positive().default(14 * 24 * 3600),
});

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);

// Upstream endpoints must be https; plain http only on loopback, where tests and local fakes run.
const upstreamUrl = z.url({ protocol: /^https?$/ })
  .refine((value) => {
    const url = new URL(value);
    return url.protocol === 'https:' || loopbackHosts.has(url.hostname);
  }, 'must be an https URL (plain http only on a loopback address)')
  .transform((value) => value.replace(/\/$/, ''));

const scopeToken = z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'a scope is one token without spaces or quotes');

const upstreamCommon = {
  /** Appears in the callback URL (/federation/<id>/callback) and in linked identities. */
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'use 1-32 lowercase letters, digits and hyphens'),
  clientId: z.string().min(1),
  clientSecret: z.string().min(1),
  displayName: z.string().trim().min(1).max(60).optional(),
  scopes: z.array(scopeToken).min(1).optional(),
};

const requireOpenid = (upstream: { scopes?: string[] | undefined }) => !upstream.scopes || upstream.scopes.includes('openid');
const openidMessage = { message: 'scopes must include openid', path: ['scopes'] };

export const upstreamSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    ...upstreamCommon,
    kind: z.literal('google'),
    issuer: upstreamUrl.default('https://accounts.google.com'),
  }).refine(requireOpenid, openidMessage).transform((upstream) => ({
    ...upstream, displayName: upstream.displayName ?? 'Google', scopes: upstream.scopes ?? ['openid', 'email', 'profile'], trustEmail: false,
  })),
  z.strictObject({
    ...upstreamCommon,
    kind: z.literal('oidc'),
    issuer: upstreamUrl,
    /** Treat the upstream's email as verified even without email_verified (e.g. a company directory). */
    trustEmail: z.boolean().default(false),
  }).refine(requireOpenid, openidMessage).transform((upstream) => ({
    ...upstream, displayName: upstream.displayName ?? upstream.id, scopes: upstream.scopes ?? ['openid', 'email', 'profile'],
  })),
  z.strictObject({
    ...upstreamCommon,
    kind: z.literal('github'),
    /** https://github.com, or the GitHub Enterprise Server host. */
    webUrl: upstreamUrl.default('https://github.com'),
    /** https://api.github.com, or https://<host>/api/v3 for GitHub Enterprise Server. */
    apiUrl: upstreamUrl.default('https://api.github.com'),
  }).transform((upstream) => ({
    ...upstream, displayName: upstream.displayName ?? 'GitHub', scopes: upstream.scopes ?? ['read:user', 'user:email'], trustEmail: false,
  })),
], { error: (issue) => (issue.code === 'invalid_union' ? 'kind must be google, github or oidc' : undefined) });

export type UpstreamConfig = z.output<typeof upstreamSchema>;

/** `points` events per `durationSeconds`, per key (an IP address, an email, an account). */
const rateSchema = (points: number, durationSeconds: number) => z.strictObject({
  points: z.number().int().positive(),
  durationSeconds: z.number().int().positive(),
}).default({ points, durationSeconds });

// Defaults: ASVS 5 V6.3 caps failed logins at 100 per hour per account; the lockout follows
// Keycloak's brute-force defaults (30 consecutive failures, locks growing by 60 s up to 15 min,
// the count forgotten after 12 h without failures).
const limitsSchema = z.strictObject({
  loginFailuresPerAccount: rateSchema(100, 3600),
  loginFailuresPerIp: rateSchema(300, 3600),
  /** Wrong codes (and failed passkeys) per account and kind of factor, on top of the login limits. */
  secondFactorFailuresPerAccount: rateSchema(10, 900),
  /** Wrong device user codes per IP (RFC 8628 §5.1: user codes can be guessed). */
  deviceCodeFailuresPerIp: rateSchema(10, 900),
  registrationsPerIp: rateSchema(10, 3600),
  registrationsPerEmail: rateSchema(3, 3600),
  resetRequestsPerIp: rateSchema(10, 3600),
  resetRequestsPerEmail: rateSchema(3, 3600),
  verificationResendsPerIp: rateSchema(10, 3600),
  verificationResendsPerEmail: rateSchema(3, 3600),
});

const lockoutSchema = z.strictObject({
  /** Consecutive failed logins on one account before it is locked for a while. */
  threshold: z.number().int().min(1).default(30),
  /** The first lock lasts this long; each further lock this much longer. */
  stepSeconds: z.number().int().positive().default(60),
  maxSeconds: z.number().int().positive().default(900),
  /** The consecutive count is forgotten after this long without a failure. */
  resetSeconds: z.number().int().positive().default(12 * 3600),
});

const timeoutsSchema = z.strictObject({
  /** Opening a PostgreSQL connection. */
  databaseConnectMs: z.number().int().positive().default(2000),
  /**
   * One SQL statement: PostgreSQL's statement_timeout; the client stops waiting 500 ms later.
   * 1500 keeps a request that meets a frozen database within a 3 s answer (src/db/deadlines.ts).
   */
  databaseStatementMs: z.number().int().positive().default(1500),
  /** Waiting for a free connection from the pool. */
  databasePoolWaitMs: z.number().int().positive().default(2000),
  /** Opening a Redis connection. */
  redisConnectMs: z.number().int().positive().default(2000),
  /**
   * One Redis command. With auto-pipelining a command may first wait for the batch in flight
   * before it, so a request meets up to twice this: 1000 keeps it within a 3 s answer.
   */
  redisCommandMs: z.number().int().positive().default(1000),
  /** The embedded database's wait for its single backend (the wire server's floor). */
  embeddedFloorMs: z.number().int().positive().default(2500),
  /** One request to an upstream identity provider (discovery, token, JWKS, userinfo, GitHub's API). */
  upstreamMs: z.number().int().positive().default(10_000),
  /** One request to an address a client registered (its jwks_uri, sector_identifier_uri). */
  outboundMs: z.number().int().positive().max(30_000).default(2500),
  /** Graceful shutdown: in-flight requests, then connections; the process exits after this at the latest. */
  shutdownMs: z.number().int().positive().default(10_000),
});

// The accent is the primary button's background under its text (--on-accent) and the link and
// focus colour on the card, in light and in dark mode; each pair must reach WCAG 2.x AA for
// normal text (4.5:1, https://www.w3.org/TR/WCAG22/#contrast-minimum).
const hexPattern = /^#[0-9a-fA-F]{6}$/;
const hexColor = z.string().regex(hexPattern, 'must be a #rrggbb colour').transform((value) => value.toLowerCase());
const contrastPairs = {
  accent: [['#ffffff', (color: string) => `white button text on ${color}`], ['#ffffff', (color: string) => `${color} links on the light card (#ffffff)`]],
  accentDark: [['#0b1020', (color: string) => `dark button text (#0b1020) on ${color}`], ['#1c212b', (color: string) => `${color} links on the dark card (#1c212b)`]],
} as const;
const colorsSchema = z.strictObject({
  accent: hexColor.default('#2f5bd3'),
  accentDark: hexColor.default('#8fb0ff'),
}).superRefine((colors, ctx) => {
  for (const key of ['accent', 'accentDark'] as const) {
    // zod still runs this after a colour failed its pattern; that issue is reported already.
    if (!hexPattern.test(colors[key])) continue;
    for (const [other, pair] of contrastPairs[key]) {
      const ratio = contrastRatio(colors[key], other);
      // Rounded down, so a refused ratio never reads as 4.50.
      const shown = (Math.floor(ratio * 100) / 100).toFixed(2);
      if (ratio < 4.5) ctx.addIssue({ code: 'custom', path: [key], message: `${pair(colors[key])} has contrast ${shown}:1; at least 4.5:1 is needed` });
    }
  }
});

// A file of the theme directory (checked by the loader), or an image on another https origin.
const themeAssetPath = /^\/assets\/theme\/(?:[A-Za-z0-9_-][A-Za-z0-9._-]*\/)*[A-Za-z0-9_-][A-Za-z0-9._-]*\.(?:svg|png|jpe?g|webp|gif|ico)$/i;
const logoUrl = z.string().refine((value) => {
  if (value.startsWith('/')) return themeAssetPath.test(value);
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return url.protocol === 'https:' || (url.protocol === 'http:' && loopbackHosts.has(url.hostname));
}, 'must be an https URL (plain http only on a loopback address) or a theme image /assets/theme/<file>.(svg|png|jpg|webp|gif|ico)');

const sealingKeys = z.array(z.string().refine((value) => {
  try {
    parseSecretKey(value);
    return true;
  } catch {
    return false;
  }
}, 'each key must be 32 random bytes in base64: generate one with `openssl rand -base64 32`')).min(1).optional();

const brandingSchema = z.strictObject({
  // One short line: it goes into titles, headers and mail text.
  name: z.string().trim().min(1).max(60).regex(/^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$/u, 'one line of visible characters').default('Sign-in'),
  logoUrl: logoUrl.optional(),
  colors: colorsSchema.default(() => colorsSchema.parse({})),
});

export const configSchema = z.strictObject({
  port: z.number().int().min(0).max(65535).default(3000),
  host: z.string().min(1).default('0.0.0.0'),
  /** Public URL of the provider; defaults to http://localhost:$PORT. */
  issuer: z.url({ protocol: /^https?$/ }).optional(),
  /** PostgreSQL connection string; unset means the embedded PGlite database under dataDir. */
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://').optional(),
  /**
   * Redis connection string; unset means provider state lives in the SQL database.
   * Standalone: redis://[[user]:password@]host[:port][/db] (rediss:// for TLS).
   * Sentinel: redis+sentinel://[[user]:password@]host[:26379][,host[:port]…]/masterName[?db=N&sentinelUsername=U&sentinelPassword=P]
   *   (the hosts are the sentinels; the credentials are the master's).
   * Cluster: redis+cluster://[[user]:password@]host[:6379][,host[:port]…] (seed nodes; database 0 only).
   * See src/db/redis-connect.ts.
   */
  redisUrl: z.string().superRefine((value, ctx) => {
    const problem = redisUrlProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }).optional(),
  redisKeyPrefix: z.string().default('idp:'),
  /**
   * How many provider-state records (tokens, sessions, grants, interactions) each instance keeps
   * in memory, tracked by Redis so a change anywhere reaches it (src/db/redis-record-cache.ts);
   * 0 turns the cache off. Not used on a Cluster.
   */
  redisCacheEntries: z.number().int().min(0).max(1_000_000).default(10_000),
  dataDir: z.string().min(1).default('./data'),
  /**
   * Keys that seal secrets at rest: private signing keys (src/oidc/keys/sealing.ts) and
   * second-factor secrets (src/mfa/secret-box.ts), 32 bytes base64 each, newest first; older
   * ones still open what they sealed. Unset: one is generated and kept in the database, for
   * development; production refuses that.
   */
  encryptionKeys: sealingKeys,
  /** The older name of encryptionKeys (MFA_ENCRYPTION_KEYS), still read; the loader folds it in. */
  mfaEncryptionKeys: sealingKeys,
  /**
   * The signing keys' lifecycle (src/oidc/keys/): with `rotationDays` > 0, once the active key
   * has signed that many days a next key is published, and it signs from `prepublishSeconds`
   * later, so relying parties caching the JWKS (for less than that, see /jwks's Cache-Control)
   * know it first. 0: keys change only by `idp keys rotate`.
   */
  signingKeys: z.strictObject({
    rotationDays: z.number().int().min(0).max(3650).default(0),
    prepublishSeconds: z.number().int().min(1).max(90 * 86_400).default(86_400),
  }).default({ rotationDays: 0, prepublishSeconds: 86_400 }),
  /**
   * Who must sign in with a second factor (src/mfa/policy.ts): everyone, or holders of the given
   * roles (effective, so composites count); a client asks for more with `minimum_acr`. People
   * who must and have none enrol during sign-in. `trustBrowserDays` > 0 offers "trust this
   * browser" after a second factor (never for phishing-resistant requests); 0, the default, does not.
   */
  mfa: z.object({
    required: z.boolean().default(false),
    requiredRoles: z.array(z.string().min(1).max(200)).default([]),
    trustBrowserDays: z.number().int().min(0).max(365).default(0),
  }).default(() => ({ required: false, requiredRoles: [], trustBrowserDays: 0 })),
  /** Keys that sign cookies, newest first; older ones still verify during rotation. */
  cookieKeys: z.array(z.string().min(32, 'each cookie key needs at least 32 characters')).min(1).optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Trust X-Forwarded-* from a reverse proxy in front of the provider. */
  trustProxy: z.boolean().default(false),
  ttl: ttlSchema.default(() => ttlSchema.parse({})),
  /** How the product is named and looks to people: every page's header and title, and every mail. */
  branding: brandingSchema.default(() => brandingSchema.parse({})),
  /**
   * Operator theme (src/pages/theme.ts): views/<name>.ejs and views/mail/<name>.ejs override
   * templates, locales/<lang>.json messages, assets/ is served under /assets/theme/, style.css
   * is added after the built-in stylesheet. Must be a directory; resolved by the loader.
   */
  themeDir: z.string().min(1).optional(),
  /**
   * The language of pages and mails when neither the request nor the person names one we have
   * (src/i18n/negotiate.ts): a BCP 47 tag with messages in src/i18n/locales or the theme's locales/.
   */
  defaultLocale: z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/, 'a language tag such as en, de or pt-BR').default('en'),
  /**
   * The account console (src/account/): adding or removing a second factor, or making new
   * recovery codes, needs a sign-in at most `reauthSeconds` old, else the person signs in again
   * first; a console session unused for `idleSeconds` ends.
   */
  account: z.strictObject({
    reauthSeconds: z.number().int().min(60, 'at least 60 seconds, or the sign-in asked for goes stale before the change is sent').max(86_400).default(300),
    idleSeconds: z.number().int().min(60).max(86_400).default(1800),
  }).default({ reauthSeconds: 300, idleSeconds: 1800 }),
  /** Self-service sign-up on the hosted pages. */
  registration: z.strictObject({ enabled: z.boolean().default(true) }).default({ enabled: true }),
  /** Sign-in completes only once the account's email is verified. */
  requireVerifiedEmail: z.boolean().default(false),
  /** Minimum password length in characters (ASVS 5: at least 8; 64 are always accepted). */
  passwordMinLength: z.number().int().min(8).max(64).default(8),
  mail: z.strictObject({
    /** smtp:// or smtps:// URL; unset outside production, mail goes to the log and DATA_DIR/outbox. */
    smtpUrl: z.string().regex(/^smtps?:\/\//, 'must start with smtp:// or smtps://').optional(),
    /** Unset: the brand by name at no-reply@localhost (filled in by the loader, src/config/load.ts). */
    from: z.string().min(3).default('Sign-in <no-reply@localhost>'),
  }).default({ from: 'Sign-in <no-reply@localhost>' }),
  limits: limitsSchema.default(() => limitsSchema.parse({})),
  lockout: lockoutSchema.default(() => lockoutSchema.parse({})),
  /**
   * Prometheus metrics at GET /metrics (no authentication). With `port`, they are served only by
   * a separate server on that port (same host), which operators can firewall off from the
   * internet; without it, on the main port. Disabled: nothing is collected, /metrics is a 404.
   */
  metrics: z.strictObject({
    enabled: z.boolean().default(true),
    port: z.number().int().min(0).max(65535).optional(),
    /**
     * In production /metrics is served only on `port` unless this says the main port may serve
     * it (behind a proxy that keeps it from the internet).
     */
    public: z.boolean().default(false),
  }).default({ enabled: true, public: false }),
  /**
   * Clients, API resources and roles cached in each instance's memory, dropped on any change
   * (LISTEN/NOTIFY; see src/cache/config-cache.ts). Turn off when PostgreSQL is reached through
   * a pooler that cannot hold a LISTEN session (PgBouncer in transaction mode).
   */
  configCache: z.strictObject({
    enabled: z.boolean().default(true),
  }).default({ enabled: true }),
  /**
   * Deadlines on every dependency, in milliseconds, so a frozen PostgreSQL or Redis turns into a
   * quick 503 instead of requests that never end. Defaults suit a request budget of about 3 s.
   */
  timeouts: timeoutsSchema.default(() => timeoutsSchema.parse({})),
  /**
   * A refresh token presented again by the same client within this many seconds of its rotation
   * (parallel refreshes, a retry after a lost response) gets the same successor instead of
   * revoking the grant; later, a replay revokes the grant (RFC 9700 §4.14.2). 0 turns it off.
   */
  refreshTokenGraceSeconds: z.number().int().min(0).max(300).default(10),
  /**
   * Private and special-use hosts and networks the provider may call at a client's request (its
   * jwks_uri, sector_identifier_uri): host names (".corp.example" for every name under it), IP
   * addresses and CIDR networks. Public addresses need no entry; loopback is reachable outside
   * production only (src/http/outbound.ts).
   */
  outboundAllowedHosts: z.array(z.string().trim().min(1).max(300)).max(200).default([]),
  /**
   * Back-channel logout deliveries (src/events/backchannel-logout.ts): a failed one is tried
   * again `retryLimit` times, the first after `retryDelaySeconds` (1-2x that, with jitter), each
   * later one about twice as long, at most `retryDelayMaxSeconds`. The defaults try for about an
   * hour (5 s, 10 s, 20 s, ... 10 min, 10 min, ...), then give up (audited).
   */
  backchannelLogout: z.strictObject({
    retryLimit: z.number().int().min(0).max(50).default(12),
    retryDelaySeconds: z.number().int().min(1).max(3600).default(5),
    retryDelayMaxSeconds: z.number().int().min(1).max(86_400).default(600),
  }).default({ retryLimit: 12, retryDelaySeconds: 5, retryDelayMaxSeconds: 600 }),
  /**
   * Webhook deliveries (src/events/webhooks/): a failed one is tried again `retryLimit` times,
   * the first after `retryDelaySeconds` (1-2x that, with jitter), each later one about twice as
   * long, at most `retryDelayMaxSeconds`. The defaults try for about half an hour (5 s, 10 s,
   * 20 s, ... 10 min), then give up (audited as webhook.delivery_failed) and go on with the next.
   */
  webhooks: z.strictObject({
    retryLimit: z.number().int().min(0).max(50).default(8),
    retryDelaySeconds: z.number().int().min(1).max(3600).default(5),
    retryDelayMaxSeconds: z.number().int().min(1).max(86_400).default(600),
  }).default({ retryLimit: 8, retryDelaySeconds: 5, retryDelayMaxSeconds: 600 }),
  /** Sign-in with Google, GitHub or OpenID Connect providers; one button per entry, in order. */
  upstreams: z.array(upstreamSchema).default([]).superRefine((upstreams, ctx) => {
    const seen = new Set<string>();
    upstreams.forEach((upstream, index) => {
      if (seen.has(upstream.id)) ctx.addIssue({ code: 'custom', message: `duplicate upstream id ${upstream.id}`, path: [index, 'id'] });
      seen.add(upstream.id);
    });
  }),
}).superRefine((config, ctx) => {
  // Settings that are each valid but cannot work together.
  if (config.lockout.stepSeconds > config.lockout.maxSeconds) {
    ctx.addIssue({ code: 'custom', path: ['lockout', 'stepSeconds'], message: `the first lock (${config.lockout.stepSeconds} s) cannot be longer than lockout.maxSeconds (${config.lockout.maxSeconds} s)` });
  }
  if (config.backchannelLogout.retryDelaySeconds > config.backchannelLogout.retryDelayMaxSeconds) {
    ctx.addIssue({ code: 'custom', path: ['backchannelLogout', 'retryDelaySeconds'], message: `the first retry delay cannot be longer than backchannelLogout.retryDelayMaxSeconds (${config.backchannelLogout.retryDelayMaxSeconds} s)` });
  }
  if (config.webhooks.retryDelaySeconds > config.webhooks.retryDelayMaxSeconds) {
    ctx.addIssue({ code: 'custom', path: ['webhooks', 'retryDelaySeconds'], message: `the first retry delay cannot be longer than webhooks.retryDelayMaxSeconds (${config.webhooks.retryDelayMaxSeconds} s)` });
  }
  if (config.refreshTokenGraceSeconds >= config.ttl.refreshToken) {
    ctx.addIssue({ code: 'custom', path: ['refreshTokenGraceSeconds'], message: `must be shorter than ttl.refreshToken (${config.ttl.refreshToken} s)` });
  }
  if (config.timeouts.databaseStatementMs >= config.timeouts.shutdownMs || config.timeouts.redisCommandMs >= config.timeouts.shutdownMs) {
    ctx.addIssue({ code: 'custom', path: ['timeouts', 'shutdownMs'], message: 'must be longer than the statement and command timeouts, or shutdown cuts off work that would still finish' });
  }
});

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema> & { issuer: string; production: boolean };
