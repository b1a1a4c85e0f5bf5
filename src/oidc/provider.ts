import Provider, { errors, type Configuration, type KoaContextWithOIDC, type AdapterFactory, type Adapter, type ResourceServer } from 'oidc-provider';
import type { JWK } from 'jose';
import type { Config } from '../config/schema.ts';
import type { AccountService } from '../accounts/service.ts';
import type { ConsentService } from '../consents/service.ts';
import type { ResourceService } from '../resources/service.ts';
import type { RbacService } from '../rbac/service.ts';
import type { Effective } from '../rbac/effective.ts';
import { accessTokenClaims } from './access-token-claims.ts';
import { noteForLog } from '../http/request-context.ts';
import { toUnavailable, ServiceUnavailableError } from '../http/unavailable.ts';
import type { Pages } from '../pages/render.ts';
import { clientDisplay } from '../pages/client-display.ts';
import { classifyError, renderErrorPage } from '../http/error-view.ts';
import type { Logger } from '../log.ts';
import { scopeClaims, sessionClaims, supportedScopes } from './claims.ts';
import { createFindAccount } from './find-account.ts';
import { isGraceRetry } from './refresh-grace.ts';
import { noteProviderError } from './diagnostics.ts';
import { recordJwtAccessToken } from './jwt-introspection.ts';
import { ACCOUNT_CLIENT_ID } from '../account/client.ts';
import { createInteractionPolicy, MINIMUM_ACR } from './interaction-policy.ts';
import type { MfaPolicy } from '../mfa/policy.ts';
import { isLevel, LEVELS } from '../mfa/levels.ts';
import { ACCOUNT_SCOPES, accountResourceIndicator } from '../account/api/resource.ts';
import type { OutboundFetch } from '../http/outbound.ts';
import { CLIENT_AUTH_METHODS, signingAlgorithmChoices } from './algorithms.ts';
import { keepExpiredDeviceCodes } from './device-code-records.ts';
import { rememberClientsByMetadata } from './client-find.ts';
import { instrumentAdapter } from '../observability/instrument-adapter.ts';
import { deviceFlowFeature, deviceFlowMiddleware, type DeviceFlowLimits } from '../interactions/device-flow.ts';

/** Which application asked to sign out, for the signed-out page (see rpInitiatedLogout below). */
const LOGOUT_CLIENT_COOKIE = 'idp_logout_client';

export interface ProviderDeps {
  config: Config;
  stateAdapter: AdapterFactory;
  clientAdapter: Adapter;
  /** Where a person's JWT access tokens leave their record for introspection (jwt-introspection.ts). */
  jwtRecords: Adapter;
  accounts: AccountService;
  consents: ConsentService;
  resources: ResourceService;
  rbac: RbacService;
  signingKeys: JWK[];
  cookieKeys: string[];
  pages: Pages;
  logger: Logger;
  /** Who must reach which authentication level (the login prompt's `acr_level` check). */
  mfaPolicy: MfaPolicy;
  /** Every request the provider makes to an address a client registered (src/http/outbound.ts). */
  outboundFetch: OutboundFetch;
  /** Wrong device user codes and device polling, counted where every instance sees them (src/interactions/device-flow.ts). */
  deviceFlowLimits: DeviceFlowLimits;
}

export function createProvider(deps: ProviderDeps): Provider {
  const { config, pages } = deps;
  const ttl = config.ttl;

  // One request asks for a client's effective roles twice (resource check, then the token's
  // claims); remember the answer for the rest of that request only.
  type RequestRbac = Pick<RbacService, 'forClient' | 'forAccount'> & { remember(clientId: string, effective: Effective): void };
  const perRequest = new WeakMap<object, RequestRbac>();
  const rbacFor = (ctx: object | undefined): RequestRbac => {
    const key = ctx ?? {};
    let cached = perRequest.get(key);
    if (!cached) {
      const forClient = new Map<string, Promise<Effective>>();
      const forAccount = new Map<string, Promise<Effective>>();
      cached = {
        forClient: (id) => forClient.get(id) ?? forClient.set(id, deps.rbac.forClient(id)).get(id)!,
        forAccount: (id) => forAccount.get(id) ?? forAccount.set(id, deps.rbac.forAccount(id)).get(id)!,
        // Only the resource being issued for: this request's token needs no other.
        remember: (id, effective) => void forClient.set(id, Promise.resolve(effective)),
      };
      perRequest.set(key, cached);
    }
    return cached;
  };

  const findAccount = createFindAccount(deps.accounts);
  const accountIndicator = accountResourceIndicator(config.issuer);
  const ownAccountScopes = { [accountIndicator]: ACCOUNT_SCOPES };
  const unavailableAs503 = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      throw toUnavailable(error);
    }
  };

  // Not timed as a storage adapter: a client lookup is a config cache hit or a timed SQL query.
  const clients = instrumentAdapter(deps.clientAdapter, 'Client', null);
  const configuration: Configuration = {
    // A storage outage surfaces as 503 temporarily_unavailable, not 500 (src/http/unavailable.ts).
    // stateAdapter's models already fail fast (src/observability/instrument-adapter.ts).
    adapter: (name: string) => (name === 'Client' ? clients : name === 'DeviceCode' ? keepExpiredDeviceCodes(deps.stateAdapter(name)) : deps.stateAdapter(name)),
    clients: [],
    findAccount: (...args: Parameters<typeof findAccount>) => unavailableAs503(async () => findAccount(...args)),
    jwks: { keys: deps.signingKeys as NonNullable<Configuration['jwks']>['keys'] },
    cookies: {
      keys: deps.cookieKeys,
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    scopes: [...supportedScopes],
    claims: { ...sessionClaims, ...scopeClaims },
    // Scope claims (roles, email, profile) go into the ID token as well as userinfo, so a relying
    // party can authorize from the ID token alone (OIDC Core §5.4 allows both).
    conformIdTokenClaims: false,
    clientDefaults: {
      grant_types: ['authorization_code'],
      id_token_signed_response_alg: 'RS256',
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
    // Code flow only (OAuth 2.1, RFC 9700 §2.1.2): no implicit or hybrid response types.
    responseTypes: ['code'],
    // What a client can register, and so what discovery advertises (src/oidc/algorithms.ts).
    clientAuthMethods: [...CLIENT_AUTH_METHODS],
    enabledJWA: signingAlgorithmChoices(deps.signingKeys),
    // Client jwks_uri and sector_identifier_uri fetches: the operator's allow-list, a deadline,
    // a logged failure (src/http/outbound.ts), and a bound on what is read.
    fetch: deps.outboundFetch as NonNullable<Configuration['fetch']>,
    fetchResponseBodyLimits: { jwks_uri: 256 * 1024, sector_identifier_uri: 64 * 1024, 'client_id metadata document': 5 * 1024 },
    // RFC 9700 §2.1.1: PKCE for every authorization code request, public or confidential;
    // oidc-provider 9 accepts only the S256 method.
    pkce: { required: () => true },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}`, policy: createInteractionPolicy(deps.mfaPolicy) },
    // The levels a relying party can ask for with acr_values or an essential acr (src/mfa/levels.ts).
    acrValues: [...LEVELS],
    // A client may require a level of everyone signing in to it (src/mfa/policy.ts).
    extraClientMetadata: {
      properties: [MINIMUM_ACR],
      validator: (_ctx, key, value) => {
        if (key === MINIMUM_ACR && value !== undefined && !isLevel(value)) {
          throw new errors.InvalidClientMetadata(`${MINIMUM_ACR} must be one of ${LEVELS.join(', ')}`);
        }
      },
    },
    loadExistingGrant: async (ctx) => unavailableAs503(() => loadExistingGrant(ctx, deps.consents)),
    issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),
    // Every refresh rotates: the used token is consumed and replaying it revokes the grant; a
    // repeat within the grace window is answered with the successor, unrotated (refresh-grace.ts).
    rotateRefreshToken: (ctx) => !isGraceRetry(ctx),
    features: {
      devInteractions: { enabled: false },
      // OIDC Core §5.5: a relying party can ask for single claims, and for an essential acr.
      claimsParameter: { enabled: true },
      clientCredentials: { enabled: true },
      // RFC 9449: a client registered with dpop_bound_access_tokens gets tokens only with a proof;
      // any client may send one, and a public client's refresh tokens are then bound too.
      dPoP: { enabled: true },
      // RFC 9101: request objects signed with the client's keys (or HS256 with its secret); an
      // unsigned one is refused, as `none` is not among the algorithms. Per client:
      // require_signed_request_object. Objects arrive by value or through PAR.
      requestObjects: { enabled: true, requireSignedRequestObject: false },
      // RFC 9126: any client may push; one registered with require_pushed_authorization_requests must.
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: false },
      // RFC 8628: TVs, CLIs and devices without a browser (src/interactions/device-flow.ts).
      deviceFlow: deviceFlowFeature(pages),
      introspection: {
        enabled: true,
        // Resource servers introspect other clients' tokens with their own credentials; a
        // public client can authenticate as nobody, so it may only ask about its own tokens.
        allowedPolicy: async (_ctx, caller, token) => caller.clientAuthMethod !== 'none' || token.clientId === caller.clientId,
      },
      revocation: {
        enabled: true,
        // RFC 7009 §2.1: a client revokes only tokens that were issued to it.
        allowedPolicy: async (_ctx, caller, token) => {
          if (token.clientId === caller.clientId) return true;
          if (caller.clientAuthMethod === 'none') return false;
          throw new errors.InvalidRequest('this client may not revoke a token issued to another client');
        },
      },
      userinfo: { enabled: true },
      registration: { enabled: false },
      // OpenID Back-Channel Logout 1.0: clients register backchannel_logout_uri (and
      // backchannel_logout_session_required); deliveries are queued, durable and retried
      // (src/events/backchannel-logout.ts replaces oidc-provider's one-shot POST per instance).
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        // The question names the application that asked (from id_token_hint or client_id). Which
        // one it was is kept for the signed-out page: after "sign out" oidc-provider forwards no
        // client_id to it (lib/actions/end_session.js), only after "stay signed in".
        logoutSource: async (ctx, form) => {
          const client = ctx.oidc.client;
          if (client) ctx.cookies.set(LOGOUT_CLIENT_COOKIE, client.clientId, { signed: true, httpOnly: true, sameSite: 'lax', path: '/session/end', maxAge: 600_000 });
          pages.render(ctx, 'logout', { form, clientName: client ? client.clientName ?? client.clientId : null });
        },
        postLogoutSuccessSource: async (ctx) => {
          const remembered = ctx.cookies.get(LOGOUT_CLIENT_COOKIE, { signed: true });
          if (remembered) ctx.cookies.set(LOGOUT_CLIENT_COOKIE, null, { signed: true, path: '/session/end' });
          const found = ctx.oidc.client ?? (remembered ? await ctx.oidc.provider.Client.find(remembered).catch(() => undefined) : undefined);
          const client = found ? clientDisplay(found, '') : null;
          pages.render(ctx, 'logged-out', { clientName: client?.name ?? null, clientHome: client?.homeUri ?? null });
        },
      },
      resourceIndicators: {
        enabled: true,
        // RFC 8707 as written: a token is for an API only when the token request names it.
        // Without `resource` the access token is opaque and good for userinfo, so one sign-in
        // can read userinfo and then, by refresh, get JWTs for each API consented at /auth.
        defaultResource: async () => undefined,
        useGrantedResource: async () => false,
        getResourceServerInfo: async (ctx, indicator, client): Promise<ResourceServer> => unavailableAs503(async () => {
          // What the client may ask for: scopes granted to it for this resource and, for its own
          // (client credentials) tokens, what its roles permit there.
          let resource: { accessTokenTtl: number; scopes: string[] | null } | null;
          const scopes = new Set<string>();
          if (ctx.oidc.params?.grant_type === 'client_credentials') {
            const access = await deps.rbac.clientAccess(client.clientId, indicator);
            resource = access && { accessTokenTtl: access.accessTokenTtl, scopes: access.granted };
            for (const scope of [...(access?.granted ?? []), ...(access?.permissions ?? [])]) scopes.add(scope);
            // The token's claims need the same roles: hand them to the customizer for this request.
            if (access) rbacFor(ctx).remember(client.clientId, { roles: access.roles, permissions: { [indicator]: access.permissions } });
          } else {
            resource = await deps.resources.forClient(client.clientId, indicator);
            for (const scope of resource?.scopes ?? []) scopes.add(scope);
          }
          // The same answer for an unknown resource and one this client was not given.
          if (!resource || (!resource.scopes && scopes.size === 0)) throw new errors.InvalidTarget('the resource is unknown or this client may not request it');
          return {
            scope: [...scopes].join(' '),
            audience: indicator,
            accessTokenTTL: resource.accessTokenTtl,
            accessTokenFormat: 'jwt',
            jwt: { sign: { alg: 'RS256' } },
          };
        }),
      },
    },
    formats: {
      customizers: {
        // Roles and permissions go into JWT access tokens, so an API can decide from the token alone.
        // A person's JWT also leaves the record that introspection checks (jwt-introspection.ts).
        jwt: async (ctx, token, jwt) => unavailableAs503(async () => {
          // The account API asks for a recent sign-in before sensitive changes (RFC 9470): its
          // tokens say when the person signed in, from the code or refresh token they came from.
          if ((token as { resourceServer?: { identifier(): string } }).resourceServer?.identifier() === accountIndicator) {
            const from = (ctx?.oidc?.entities ?? {}) as { AuthorizationCode?: { authTime?: number }; RefreshToken?: { authTime?: number } };
            const authTime = from.AuthorizationCode?.authTime ?? from.RefreshToken?.authTime;
            if (typeof authTime === 'number') jwt.payload.auth_time = authTime;
          }
          await Promise.all([
            accessTokenClaims(rbacFor(ctx), token, jwt.payload, ownAccountScopes),
            recordJwtAccessToken(deps.jwtRecords, token as Parameters<typeof recordJwtAccessToken>[1]),
          ]);
        }),
      },
    },
    ttl: {
      AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? ttl.accessToken,
      AuthorizationCode: ttl.authorizationCode,
      ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? ttl.clientCredentials,
      IdToken: ttl.idToken,
      Interaction: ttl.interaction,
      DeviceCode: ttl.deviceCode,
      Session: ttl.session,
      Grant: ttl.grant,
      RefreshToken: (ctx, token, client) => {
        // A browser app's rotated refresh token keeps its predecessor's deadline (RFC 9700 §4.14.2).
        const rotated = ctx?.oidc?.entities.RotatedRefreshToken;
        if (rotated && client.applicationType === 'web' && client.clientAuthMethod === 'none' && !token.isSenderConstrained()) {
          return rotated.remainingTTL;
        }
        return ttl.refreshToken;
      },
    },
    // OIDC Discovery §3: the languages the hosted pages speak (src/i18n/locales and the theme's).
    discovery: { ui_locales_supported: [...pages.catalogue.locales] },
    renderError: async (ctx, out, error) => {
      // The error table words it for people; the protocol detail goes to the log and the page's
      // details line. A 500 is logged with its stack by the server_error listener (diagnostics.ts).
      const view = classifyError(error);
      if (view.code === 'temporarily_unavailable') {
        const unavailable = error as ServiceUnavailableError;
        deps.logger.warn({ dependency: unavailable.dependency, err: (unavailable.cause as Error | undefined)?.message }, 'dependency unavailable');
      }
      // oidc-provider has already set the status from the error; the code it answers with is `out.error`.
      const shown = view.unexpected ? view : { ...view, code: out.error, detail: out.error_description ?? view.detail };
      noteForLog(ctx, { error: out.error, errorDescription: shown.status < 500 ? out.error_description?.slice(0, 200) : undefined });
      renderErrorPage(pages, ctx, shown);
    },
  };

  const provider = new Provider(config.issuer, configuration);
  provider.proxy = config.trustProxy;
  rememberClientsByMetadata(provider, clients);
  // RFC 8628 around oidc-provider: the wrong-code limit, prefilled codes, interval and slow_down.
  provider.use(deviceFlowMiddleware(provider, deps.deviceFlowLimits));
  // Hands the client and account of each protocol request to our request log line (see
  // src/http/request-context.ts); only what oidc-provider has already loaded is read.
  provider.use(async (ctx, next) => {
    try {
      await next();
    } finally {
      if (ctx.status === 503) ctx.set('retry-after', '5');
      noteProviderError(ctx);
      const entities = (ctx.oidc?.entities ?? {}) as { Client?: { clientId?: string }; Account?: { accountId?: string }; Session?: { accountId?: string } };
      noteForLog(ctx, {
        clientId: entities.Client?.clientId,
        accountId: entities.Account?.accountId ?? entities.Session?.accountId,
      });
    }
  });
  return provider;
}

/**
 * The grant for this client from the session, or one rebuilt from the consent the person gave
 * this client before, so the next sign-in skips the consent page.
 */
async function loadExistingGrant(ctx: KoaContextWithOIDC, consents: ConsentService) {
  const { client, session, provider } = ctx.oidc;
  if (!client || !session) return undefined;
  const grantId = ctx.oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
  if (grantId) {
    const grant = await provider.Grant.find(grantId);
    if (grant) return grant;
  }
  const accountId = session.accountId;
  if (!accountId) return undefined;
  if (client.clientId === ACCOUNT_CLIENT_ID) {
    // The account console is part of this provider (first party, src/account/client.ts): there
    // is nothing to consent to, so its grant is made here and the consent prompt never shows.
    const grant = new provider.Grant({ clientId: client.clientId, accountId });
    grant.addOIDCScope('openid');
    await grant.save();
    return grant;
  }
  const consent = await consents.find(accountId, client.clientId);
  if (!consent) return undefined;
  const grant = new provider.Grant({ clientId: client.clientId, accountId });
  if (consent.scopes.length) grant.addOIDCScope(consent.scopes.join(' '));
  if (consent.claims.length) grant.addOIDCClaims(consent.claims);
  for (const [indicator, scopes] of Object.entries(consent.resourceScopes)) grant.addResourceScope(indicator, scopes.join(' '));
  await grant.save();
  return grant;
}
