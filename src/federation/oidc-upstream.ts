import * as client from 'openid-client';
import type { UpstreamConfig } from '../config/schema.ts';
import { UPSTREAM_TIMEOUT_SECONDS, toUpstreamError, type AuthorizationChecks, type Upstream, type UpstreamProfile } from './upstream.ts';

type OidcUpstreamConfig = Extract<UpstreamConfig, { kind: 'google' | 'oidc' }>;

// Discovery is cached; an upstream that rotates endpoints is picked up within a day.
const DISCOVERY_MAX_AGE_MS = 24 * 3600 * 1000;

/**
 * Google and any OpenID Connect provider: discovery, PKCE, state, nonce and ID token validation
 * are openid-client's. Signature checks of ID tokens from the token endpoint are optional in OIDC
 * (TLS authenticates the issuer); we turn them on (enableNonRepudiationChecks) so a token that
 * does not verify against the upstream's JWKS is refused whatever the transport.
 */
export function createOidcUpstream(settings: OidcUpstreamConfig, timeoutSeconds = UPSTREAM_TIMEOUT_SECONDS): Upstream {
  let cached: { at: number; configuration: Promise<client.Configuration> } | undefined;

  async function discover(): Promise<client.Configuration> {
    const insecure = new URL(settings.issuer).protocol === 'http:'; // loopback only (config schema)
    const discovered = await client.discovery(new URL(settings.issuer), settings.clientId, undefined, undefined, {
      timeout: timeoutSeconds,
      ...(insecure ? { execute: [client.allowInsecureRequests] } : {}),
    });
    const metadata = discovered.serverMetadata();
    // RFC 8414: client_secret_basic is the default when the server lists no methods.
    const methods = metadata.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
    const auth = methods.includes('client_secret_basic') ? client.ClientSecretBasic(settings.clientSecret) : client.ClientSecretPost(settings.clientSecret);
    const configuration = new client.Configuration(metadata, settings.clientId, settings.clientSecret, auth);
    configuration.timeout = timeoutSeconds;
    if (insecure) client.allowInsecureRequests(configuration);
    client.enableNonRepudiationChecks(configuration);
    return configuration;
  }

  function configuration(): Promise<client.Configuration> {
    if (!cached || Date.now() - cached.at > DISCOVERY_MAX_AGE_MS) {
      const attempt = { at: Date.now(), configuration: discover() };
      // A failed discovery is not cached: the next sign-in attempt tries again.
      attempt.configuration.catch(() => {
        if (cached === attempt) cached = undefined;
      });
      cached = attempt;
    }
    return cached.configuration;
  }

  return {
    id: settings.id,
    kind: settings.kind,
    displayName: settings.displayName,
    trustEmail: settings.trustEmail,
    usesNonce: true,

    async authorizationUrl(redirectUri: string, checks: AuthorizationChecks): Promise<URL> {
      try {
        return client.buildAuthorizationUrl(await configuration(), {
          redirect_uri: redirectUri,
          scope: settings.scopes.join(' '),
          state: checks.state,
          nonce: checks.nonce!,
          code_challenge: await client.calculatePKCECodeChallenge(checks.codeVerifier),
          code_challenge_method: 'S256',
        });
      } catch (error) {
        throw toUpstreamError(error, settings.id);
      }
    },

    async profile(callbackUrl: URL, checks: AuthorizationChecks): Promise<UpstreamProfile> {
      try {
        const config = await configuration();
        const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
          pkceCodeVerifier: checks.codeVerifier,
          expectedState: checks.state,
          expectedNonce: checks.nonce!,
          idTokenExpected: true,
        });
        const claims: Record<string, unknown> = { ...tokens.claims()! };
        // Some providers (Okta, for one) keep ID tokens thin and put email in userinfo.
        if (typeof claims.email !== 'string' && config.serverMetadata().userinfo_endpoint && tokens.access_token) {
          const info = await client.fetchUserInfo(config, tokens.access_token, String(claims.sub));
          for (const [key, value] of Object.entries(info)) if (claims[key] === undefined) claims[key] = value;
        }
        return profileFromClaims(claims, settings.trustEmail);
      } catch (error) {
        throw toUpstreamError(error, settings.id);
      }
    },
  };
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() ? value.trim() : undefined);

export function profileFromClaims(claims: Record<string, unknown>, trustEmail: boolean): UpstreamProfile {
  const email = text(claims.email)?.toLowerCase() ?? null;
  // Some providers send the boolean as a string.
  const verifiedClaim = claims.email_verified === true || claims.email_verified === 'true';
  return {
    subject: String(claims.sub),
    email,
    emailVerified: email !== null && (verifiedClaim || trustEmail),
    name: text(claims.name),
    givenName: text(claims.given_name),
    familyName: text(claims.family_name),
    picture: text(claims.picture),
    locale: text(claims.locale),
  };
}
