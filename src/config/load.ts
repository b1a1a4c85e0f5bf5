import { readFileSync, existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { configSchema, type Config } from './schema.ts';
import { allowListEntryProblem } from '../http/outbound.ts';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

const int = (value: string) => (/^-?\d+$/.test(value) ? Number(value) : value);
const bool = (value: string) => (value === 'true' || value === '1' ? true : value === 'false' || value === '0' ? false : value);
const units: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
// "10/1h" → 10 per hour; unparseable strings pass through for the schema to report.
const rate = (value: string) => {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*([smhd]?)\s*$/.exec(value);
  return match ? { points: Number(match[1]), durationSeconds: Number(match[2]) * units[match[3] || 's']! } : value;
};
const list = (value: string) => value.split(',').map((part) => part.trim()).filter(Boolean);

// Environment variable → config path and how to read the string. Unparseable strings are
// passed through unchanged so the schema reports them with the key path.
const envMap: Array<[string, string[], (value: string) => unknown]> = [
  ['PORT', ['port'], int],
  ['HOST', ['host'], String],
  ['ISSUER', ['issuer'], String],
  ['DATABASE_URL', ['databaseUrl'], String],
  ['REDIS_URL', ['redisUrl'], String],
  ['REDIS_KEY_PREFIX', ['redisKeyPrefix'], String],
  ['REDIS_CACHE_ENTRIES', ['redisCacheEntries'], int],
  ['DATA_DIR', ['dataDir'], String],
  ['COOKIE_KEYS', ['cookieKeys'], list],
  ['ENCRYPTION_KEYS', ['encryptionKeys'], list],
  ['MFA_ENCRYPTION_KEYS', ['mfaEncryptionKeys'], list],
  ['SIGNING_KEY_ROTATION_DAYS', ['signingKeys', 'rotationDays'], int],
  ['SIGNING_KEY_PREPUBLISH_SECONDS', ['signingKeys', 'prepublishSeconds'], int],
  ['MFA_REQUIRED', ['mfa', 'required'], bool],
  ['MFA_REQUIRED_ROLES', ['mfa', 'requiredRoles'], list],
  ['MFA_TRUST_BROWSER_DAYS', ['mfa', 'trustBrowserDays'], int],
  ['LOG_LEVEL', ['logLevel'], String],
  ['TRUST_PROXY', ['trustProxy'], bool],
  ['TTL_ACCESS_TOKEN', ['ttl', 'accessToken'], int],
  ['TTL_AUTHORIZATION_CODE', ['ttl', 'authorizationCode'], int],
  ['TTL_CLIENT_CREDENTIALS', ['ttl', 'clientCredentials'], int],
  ['TTL_ID_TOKEN', ['ttl', 'idToken'], int],
  ['TTL_REFRESH_TOKEN', ['ttl', 'refreshToken'], int],
  ['TTL_INTERACTION', ['ttl', 'interaction'], int],
  ['TTL_DEVICE_CODE', ['ttl', 'deviceCode'], int],
  ['TTL_SESSION', ['ttl', 'session'], int],
  ['TTL_GRANT', ['ttl', 'grant'], int],
  ['TTL_EMAIL_VERIFICATION', ['ttl', 'emailVerification'], int],
  ['TTL_PASSWORD_RESET', ['ttl', 'passwordReset'], int],
  ['BRAND_NAME', ['branding', 'name'], String],
  ['BRAND_LOGO_URL', ['branding', 'logoUrl'], String],
  ['BRAND_ACCENT_COLOR', ['branding', 'colors', 'accent'], String],
  ['BRAND_ACCENT_COLOR_DARK', ['branding', 'colors', 'accentDark'], String],
  ['THEME_DIR', ['themeDir'], String],
  ['DEFAULT_LOCALE', ['defaultLocale'], String],
  ['REGISTRATION_ENABLED', ['registration', 'enabled'], bool],
  ['ACCOUNT_REAUTH_SECONDS', ['account', 'reauthSeconds'], int],
  ['ACCOUNT_IDLE_SECONDS', ['account', 'idleSeconds'], int],
  ['REQUIRE_VERIFIED_EMAIL', ['requireVerifiedEmail'], bool],
  ['PASSWORD_MIN_LENGTH', ['passwordMinLength'], int],
  ['SMTP_URL', ['mail', 'smtpUrl'], String],
  ['MAIL_FROM', ['mail', 'from'], String],
  ['LOCKOUT_THRESHOLD', ['lockout', 'threshold'], int],
  ['LOCKOUT_STEP_SECONDS', ['lockout', 'stepSeconds'], int],
  ['LOCKOUT_MAX_SECONDS', ['lockout', 'maxSeconds'], int],
  ['LOCKOUT_RESET_SECONDS', ['lockout', 'resetSeconds'], int],
  ['LIMIT_LOGIN_FAILURES_PER_ACCOUNT', ['limits', 'loginFailuresPerAccount'], rate],
  ['LIMIT_SECOND_FACTOR_FAILURES', ['limits', 'secondFactorFailuresPerAccount'], rate],
  ['LIMIT_DEVICE_CODE_FAILURES_PER_IP', ['limits', 'deviceCodeFailuresPerIp'], rate],
  ['LIMIT_LOGIN_FAILURES_PER_IP', ['limits', 'loginFailuresPerIp'], rate],
  ['LIMIT_REGISTRATIONS_PER_IP', ['limits', 'registrationsPerIp'], rate],
  ['LIMIT_REGISTRATIONS_PER_EMAIL', ['limits', 'registrationsPerEmail'], rate],
  ['LIMIT_RESET_REQUESTS_PER_IP', ['limits', 'resetRequestsPerIp'], rate],
  ['LIMIT_RESET_REQUESTS_PER_EMAIL', ['limits', 'resetRequestsPerEmail'], rate],
  ['LIMIT_VERIFICATION_RESENDS_PER_IP', ['limits', 'verificationResendsPerIp'], rate],
  ['LIMIT_VERIFICATION_RESENDS_PER_EMAIL', ['limits', 'verificationResendsPerEmail'], rate],
  ['METRICS_ENABLED', ['metrics', 'enabled'], bool],
  ['METRICS_PORT', ['metrics', 'port'], int],
  ['METRICS_PUBLIC', ['metrics', 'public'], bool],
  ['CONFIG_CACHE_ENABLED', ['configCache', 'enabled'], bool],
  ['REFRESH_TOKEN_GRACE_SECONDS', ['refreshTokenGraceSeconds'], int],
  ['DATABASE_CONNECT_TIMEOUT_MS', ['timeouts', 'databaseConnectMs'], int],
  ['DATABASE_STATEMENT_TIMEOUT_MS', ['timeouts', 'databaseStatementMs'], int],
  ['DATABASE_POOL_TIMEOUT_MS', ['timeouts', 'databasePoolWaitMs'], int],
  ['REDIS_CONNECT_TIMEOUT_MS', ['timeouts', 'redisConnectMs'], int],
  ['REDIS_COMMAND_TIMEOUT_MS', ['timeouts', 'redisCommandMs'], int],
  ['EMBEDDED_FLOOR_TIMEOUT_MS', ['timeouts', 'embeddedFloorMs'], int],
  ['SHUTDOWN_TIMEOUT_MS', ['timeouts', 'shutdownMs'], int],
  ['UPSTREAM_TIMEOUT_MS', ['timeouts', 'upstreamMs'], int],
  ['OUTBOUND_TIMEOUT_MS', ['timeouts', 'outboundMs'], int],
  ['OUTBOUND_ALLOWED_HOSTS', ['outboundAllowedHosts'], list],
  ['BACKCHANNEL_LOGOUT_RETRY_LIMIT', ['backchannelLogout', 'retryLimit'], int],
  ['BACKCHANNEL_LOGOUT_RETRY_DELAY_SECONDS', ['backchannelLogout', 'retryDelaySeconds'], int],
  ['BACKCHANNEL_LOGOUT_RETRY_DELAY_MAX_SECONDS', ['backchannelLogout', 'retryDelayMaxSeconds'], int],
  ['WEBHOOK_RETRY_LIMIT', ['webhooks', 'retryLimit'], int],
  ['WEBHOOK_RETRY_DELAY_SECONDS', ['webhooks', 'retryDelaySeconds'], int],
  ['WEBHOOK_RETRY_DELAY_MAX_SECONDS', ['webhooks', 'retryDelayMaxSeconds'], int],
];


function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    node = (next && typeof next === 'object' ? next : (node[key] = {})) as Record<string, unknown>;
  }
  node[path.at(-1)!] = value;
}

function readFile(env: Env, cwd: string): Record<string, unknown> {
  const explicit = env.IDP_CONFIG;
  const path = resolve(cwd, explicit ?? 'config/idp.json');
  if (!existsSync(path)) {
    if (explicit) throw new ConfigError(`IDP_CONFIG: file not found: ${path}`);
    return {};
  }
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('must hold a JSON object');
    return parsed as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`${path}: ${(error as Error).message}`);
  }
}

// UPSTREAM_<ID>_<FIELD>: the id is lowercased with _ read as -, so UPSTREAM_CORP_SSO_CLIENT_ID
// configures upstream corp-sso. Fields merge into a file entry with the same id, so secrets can
// live in the environment and the rest in the file.
const upstreamFields: Record<string, [string, (value: string) => unknown]> = {
  KIND: ['kind', String],
  CLIENT_ID: ['clientId', String],
  CLIENT_SECRET: ['clientSecret', String],
  DISPLAY_NAME: ['displayName', String],
  SCOPES: ['scopes', (value) => value.split(/[\s,]+/).filter(Boolean)],
  ISSUER: ['issuer', String],
  WEB_URL: ['webUrl', String],
  API_URL: ['apiUrl', String],
  TRUST_EMAIL: ['trustEmail', bool],
};
export const envVariables = [...envMap.map(([name]) => name), ...Object.keys(upstreamFields).map((field) => `UPSTREAM_<ID>_${field}`)];

const upstreamVariable = new RegExp(`^UPSTREAM_([A-Z0-9_]+?)_(${Object.keys(upstreamFields).join('|')})$`);

function applyUpstreamEnv(raw: Record<string, unknown>, env: Env): void {
  const fromFile = raw.upstreams;
  if (fromFile !== undefined && !Array.isArray(fromFile)) return; // the schema reports it
  const upstreams = (fromFile ?? []) as unknown[];
  const envOnly = new Map<string, Record<string, unknown>>();
  for (const name of Object.keys(env).sort()) {
    const match = upstreamVariable.exec(name);
    const value = env[name];
    if (!match || value === undefined || value === '') continue;
    const id = match[1]!.toLowerCase().replace(/_/g, '-');
    const [key, parse] = upstreamFields[match[2]!]!;
    let entry = upstreams.find((candidate): candidate is Record<string, unknown> => (candidate as { id?: unknown } | null)?.id === id);
    if (!entry) {
      entry = envOnly.get(id) ?? { id };
      envOnly.set(id, entry);
    }
    entry[key] = parse(value);
  }
  const merged = [...upstreams, ...envOnly.values()];
  // google and github are the kind of the upstream with that id unless it says otherwise.
  for (const entry of merged) {
    if (entry && typeof entry === 'object' && !('kind' in entry)) {
      const id = (entry as { id?: unknown }).id;
      if (id === 'google' || id === 'github') (entry as Record<string, unknown>).kind = id;
    }
  }
  if (merged.length) raw.upstreams = merged;
}

function formatIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
}

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Defaults ← config file ← environment; throws ConfigError naming the key path and reason. */
export function loadConfig(env: Env = process.env, cwd: string = process.cwd()): Config {
  const raw = readFile(env, cwd);
  for (const [name, path, parse] of envMap) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(raw, path, parse(value));
  }
  applyUpstreamEnv(raw, env);
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(`invalid configuration: ${formatIssues(result.error)}`);
  const parsed = result.data;
  const issuer = (parsed.issuer ?? `http://localhost:${parsed.port}`).replace(/\/$/, '');
  const production = env.NODE_ENV === 'production';
  // Mail comes from the product by name unless MAIL_FROM says otherwise (a quoted display name,
  // so a brand with a comma or quotes stays one name).
  const mailFromGiven = typeof (raw.mail as { from?: unknown } | undefined)?.from === 'string';
  const mail = mailFromGiven ? parsed.mail : { ...parsed.mail, from: `${JSON.stringify(parsed.branding.name)} <no-reply@localhost>` };
  const themeDir = parsed.themeDir === undefined ? undefined : resolve(cwd, parsed.themeDir);
  checkTheme(themeDir, parsed.branding.logoUrl);
  // MFA_ENCRYPTION_KEYS is the older name of ENCRYPTION_KEYS: either works, both only when they agree.
  if (parsed.encryptionKeys && parsed.mfaEncryptionKeys && parsed.encryptionKeys.join(',') !== parsed.mfaEncryptionKeys.join(',')) {
    throw new ConfigError('invalid configuration: encryptionKeys: ENCRYPTION_KEYS and MFA_ENCRYPTION_KEYS (its older name) are both set, to different keys: keep ENCRYPTION_KEYS only');
  }
  const encryptionKeys = parsed.encryptionKeys ?? parsed.mfaEncryptionKeys;
  const config: Config = { ...parsed, encryptionKeys, mfaEncryptionKeys: encryptionKeys, mail, dataDir: resolve(cwd, parsed.dataDir), themeDir, issuer, production };
  for (const entry of config.outboundAllowedHosts) {
    const problem = allowListEntryProblem(entry, production);
    if (problem) throw new ConfigError(`invalid configuration: outboundAllowedHosts (OUTBOUND_ALLOWED_HOSTS): ${problem}`);
  }
  if (production) refuseDevelopmentDefaults(config);
  return config;
}

const isDirectory = (path: string) => statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
const isFile = (path: string) => statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;

// A theme that is not there would otherwise show only as built-in pages and a broken logo.
function checkTheme(themeDir: string | undefined, logoUrl: string | undefined): void {
  if (themeDir !== undefined && !isDirectory(themeDir)) throw new ConfigError(`invalid configuration: themeDir: no directory at ${themeDir}`);
  const themeFile = logoUrl?.startsWith('/assets/theme/') ? logoUrl.slice('/assets/theme/'.length) : undefined;
  if (themeFile === undefined) return;
  if (themeDir === undefined) throw new ConfigError('invalid configuration: branding.logoUrl: a theme file needs a theme directory (THEME_DIR or themeDir)');
  const path = join(themeDir, 'assets', themeFile);
  if (!isFile(path)) throw new ConfigError(`invalid configuration: branding.logoUrl: no file at ${path}`);
}

function refuseDevelopmentDefaults(config: Config): void {
  const problems: string[] = [];
  if (!config.databaseUrl) problems.push('the embedded database is for development: set DATABASE_URL to a PostgreSQL server');
  if (!config.mail.smtpUrl) problems.push('mail for verification and password reset needs a server: set SMTP_URL (smtp:// or smtps://) and MAIL_FROM');
  if (!config.cookieKeys) problems.push('generated cookie keys are for development: set COOKIE_KEYS to one or more random strings of 32+ characters, comma-separated');
  const url = new URL(config.issuer);
  if (url.protocol === 'http:' && !loopbackHosts.has(url.hostname)) {
    problems.push(`issuer ${config.issuer} is plain http: set ISSUER to the public https URL`);
  }
  if (problems.length) throw new ConfigError(`NODE_ENV=production refuses development defaults: ${problems.join('; ')}`);
}
