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
});

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema> & { issuer: string; production: boolean };
