import { z } from 'zod';

// Every TTL is explicit (seconds) so an operator can read what tokens live for without
// knowing oidc-provider's defaults. Values follow RFC 9700 guidance: short-lived codes and
// access tokens, longer refresh tokens that rotate on every use.
const ttlSchema = z.strictObject({
  accessToken: z.number().int().positive().default(3600),
  authorizationCode: z.number().int().positive().max(600).default(60),
  clientCredentials: z.number().int().positive().default(600),
  idToken: z.number().int().positive().default(3600),
  refreshToken: z.number().int().positive().default(14 * 24 * 3600),
  interaction: z.number().int().positive().default(3600),
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

export const configSchema = z.strictObject({
  port: z.number().int().min(0).max(65535).default(3000),
  host: z.string().min(1).default('0.0.0.0'),
  /** Public URL of the provider; defaults to http://localhost:$PORT. */
  issuer: z.url({ protocol: /^https?$/ }).optional(),
  /** PostgreSQL connection string; unset means the embedded PGlite database under dataDir. */
  databaseUrl: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://').optional(),
  /** Redis connection string; unset means provider state lives in the SQL database. */
  redisUrl: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').optional(),
  redisKeyPrefix: z.string().default('idp:'),
  dataDir: z.string().min(1).default('./data'),
  /** Keys that sign cookies, newest first; older ones still verify during rotation. */
  cookieKeys: z.array(z.string().min(32, 'each cookie key needs at least 32 characters')).min(1).optional(),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Trust X-Forwarded-* from a reverse proxy in front of the provider. */
  trustProxy: z.boolean().default(false),
  ttl: ttlSchema.default(() => ttlSchema.parse({})),
  /** Sign-in with Google, GitHub or OpenID Connect providers; one button per entry, in order. */
  upstreams: z.array(upstreamSchema).default([]).superRefine((upstreams, ctx) => {
    const seen = new Set<string>();
    upstreams.forEach((upstream, index) => {
      if (seen.has(upstream.id)) ctx.addIssue({ code: 'custom', message: `duplicate upstream id ${upstream.id}`, path: [index, 'id'] });
      seen.add(upstream.id);
    });
  }),
});

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema> & { issuer: string; production: boolean };
