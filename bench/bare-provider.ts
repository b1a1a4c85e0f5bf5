/**
 * The baseline for `npm run bench`: oidc-provider (the version this project uses) with nothing
 * of ours around it. Default in-memory adapter, one static client, one fixed account without a
 * database, the same features and TTLs as src/oidc/provider.ts, and a minimal login/consent
 * handler (no CSRF, no rate limits, no templates). The login verifies an argon2id hash made at
 * start-up with our own src/accounts/password.ts, so both targets pay the same hash and the
 * sign-in ratio measures everything else. Remembered consent lives in a Map, standing in for
 * our consents table.
 *
 *   PORT=4000 node bench/bare-provider.ts
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import Provider, { errors, type Configuration, type KoaContextWithOIDC, type ResourceServer } from 'oidc-provider';
import { hashPassword, verifyPassword } from '../src/accounts/password.ts';
import { fixtures } from './fixtures.ts';

const port = Number(process.env.PORT ?? 4000);
const issuer = `http://127.0.0.1:${port}`;

async function signingKey(alg: 'RS256' | 'ES256'): Promise<JWK> {
  const { privateKey } = alg === 'RS256'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' }) as JWK;
  return { ...jwk, kid: await calculateJwkThumbprint(jwk, 'sha256'), alg, use: 'sig' };
}

// Hashed once, with our parameters and library, as our CLI does when it creates the person.
const passwordHash = await hashPassword(fixtures.password);

const account = {
  sub: fixtures.accountId,
  email: fixtures.email,
  email_verified: true,
  name: fixtures.name,
  given_name: 'Bench',
  family_name: 'Person',
  roles: [] as string[],
};

/** accountId → clientId → what the person consented to, like our consents table. */
const consents = new Map<string, { scopes: string[]; claims: string[]; resourceScopes: Record<string, string[]> }>();
const consentKey = (accountId: string, clientId: string) => `${accountId}\n${clientId}`;

const configuration: Configuration = {
  clients: [{
    client_id: fixtures.clientId,
    client_secret: fixtures.clientSecret,
    grant_types: ['client_credentials', 'authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [fixtures.redirectUri],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  findAccount: async (_ctx, sub) => (sub === fixtures.accountId ? { accountId: sub, claims: async () => account } : undefined),
  jwks: { keys: [await signingKey('RS256'), await signingKey('ES256')] as NonNullable<Configuration['jwks']>['keys'] },
  cookies: {
    keys: ['bench-cookie-key-bench-cookie-key-0001'],
    long: { httpOnly: true, sameSite: 'lax' },
    short: { httpOnly: true, sameSite: 'lax' },
  },
  scopes: ['openid', 'profile', 'email', 'offline_access', 'roles'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'given_name', 'family_name', 'picture', 'locale', 'updated_at'],
    email: ['email', 'email_verified'],
    roles: ['roles'],
  },
  conformIdTokenClaims: false,
  clientDefaults: {
    grant_types: ['authorization_code'],
    id_token_signed_response_alg: 'RS256',
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  },
  responseTypes: ['code'],
  pkce: { required: () => true },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
    const { client, session, provider } = ctx.oidc;
    if (!client || !session) return undefined;
    const grantId = ctx.oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
    if (grantId) {
      const grant = await provider.Grant.find(grantId);
      if (grant) return grant;
    }
    if (!session.accountId) return undefined;
    const consent = consents.get(consentKey(session.accountId, client.clientId));
    if (!consent) return undefined;
    const grant = new provider.Grant({ clientId: client.clientId, accountId: session.accountId });
    if (consent.scopes.length) grant.addOIDCScope(consent.scopes.join(' '));
    if (consent.claims.length) grant.addOIDCClaims(consent.claims);
    for (const [indicator, scopes] of Object.entries(consent.resourceScopes)) grant.addResourceScope(indicator, scopes.join(' '));
    await grant.save();
    return grant;
  },
  issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
  rotateRefreshToken: true,
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      allowedPolicy: async (_ctx, caller, token) => caller.clientAuthMethod !== 'none' || token.clientId === caller.clientId,
    },
    revocation: { enabled: true },
    userinfo: { enabled: true },
    registration: { enabled: false },
    rpInitiatedLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => undefined,
      useGrantedResource: async () => false,
      getResourceServerInfo: async (_ctx, indicator): Promise<ResourceServer> => {
        if (indicator !== fixtures.api) throw new errors.InvalidTarget('the resource is unknown or this client may not request it');
        return { scope: fixtures.apiScopes, audience: indicator, accessTokenTTL: 3600, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
      },
    },
  },
  ttl: {
    AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 3600,
    AuthorizationCode: 60,
    ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? 600,
    IdToken: 3600,
    Interaction: 3600,
    Session: 14 * 24 * 3600,
    Grant: 14 * 24 * 3600,
    RefreshToken: 14 * 24 * 3600,
  },
};

const provider = new Provider(issuer, configuration);
const providerCallback = provider.callback();

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function page(res: ServerResponse, status: number, html: string): void {
  res.statusCode = status;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.end(`<!doctype html><html><body>${html}</body></html>`);
}

interface MissingGrant {
  missingOIDCScope?: string[];
  missingOIDCClaims?: string[];
  missingResourceScopes?: Record<string, string[]>;
}

/** GET /interaction/:uid, POST /interaction/:uid/login, POST /interaction/:uid/confirm. */
async function interaction(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const [, , uid, action] = (req.url ?? '').split('?')[0]!.split('/');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) return page(res, 400, 'interaction mismatch');

  if (req.method === 'GET' && !action) {
    if (details.prompt.name === 'login') {
      return page(res, 200, `<form method="post" action="/interaction/${uid}/login"><input name="email"><input name="password" type="password"><button>Sign in</button></form>`);
    }
    return page(res, 200, `<form method="post" action="/interaction/${uid}/confirm"><button>Allow</button></form>`);
  }

  if (req.method === 'POST' && action === 'login' && details.prompt.name === 'login') {
    const form = await readForm(req);
    // Verified whatever the email, as ours verifies against a decoy hash for an unknown one.
    const verified = await verifyPassword(passwordHash, form.get('password') ?? '');
    if (form.get('email') !== fixtures.email || !verified) return page(res, 401, 'wrong email or password');
    return provider.interactionFinished(req, res, { login: { accountId: fixtures.accountId } }, { mergeWithLastSubmission: false });
  }

  if (req.method === 'POST' && action === 'confirm' && details.prompt.name === 'consent') {
    await readForm(req);
    const accountId = details.session?.accountId;
    if (!accountId) return page(res, 400, 'sign in first');
    const clientId = String(details.params.client_id);
    const grant = (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ?? new provider.Grant({ accountId, clientId });
    const missing = details.prompt.details as MissingGrant;
    if (missing.missingOIDCScope?.length) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims?.length) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    const key = consentKey(accountId, clientId);
    const previous = consents.get(key);
    consents.set(key, {
      scopes: [...new Set([...(previous?.scopes ?? []), ...(missing.missingOIDCScope ?? [])])],
      claims: [...new Set([...(previous?.claims ?? []), ...(missing.missingOIDCClaims ?? [])])],
      resourceScopes: { ...previous?.resourceScopes, ...missing.missingResourceScopes },
    });
    return provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  }

  return page(res, 400, 'unexpected interaction step');
}

const server = createServer((req, res) => {
  if (req.url?.startsWith('/interaction/')) {
    interaction(req, res).catch((error: unknown) => {
      if (!res.headersSent) page(res, 500, 'interaction failed');
      else res.end();
      console.error('bare-provider: interaction failed:', error);
    });
  } else {
    void providerCallback(req, res);
  }
});
server.listen(port, '127.0.0.1');

const stop = () => server.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
