import * as client from 'openid-client';
import { z } from 'zod';
import type { UpstreamConfig } from '../config/schema.ts';
import { UPSTREAM_TIMEOUT_SECONDS, UpstreamError, toUpstreamError, type AuthorizationChecks, type Upstream, type UpstreamProfile } from './upstream.ts';

type GitHubUpstreamConfig = Extract<UpstreamConfig, { kind: 'github' }>;

const userSchema = z.object({
  id: z.number().int(),
  login: z.string(),
  name: z.string().nullish(),
  avatar_url: z.string().nullish(),
});

const emailsSchema = z.array(z.object({ email: z.string(), primary: z.boolean(), verified: z.boolean() }));

/**
 * GitHub is OAuth 2.0 without OpenID Connect: openid-client drives the code + PKCE + state
 * exchange against its fixed endpoints, then the REST API says who the person is. The email that
 * counts is the one GitHub marks both primary and verified; any other address is unverified.
 */
export function createGitHubUpstream(settings: GitHubUpstreamConfig, timeoutSeconds = UPSTREAM_TIMEOUT_SECONDS): Upstream {
  const server: client.ServerMetadata = {
    issuer: settings.webUrl,
    authorization_endpoint: `${settings.webUrl}/login/oauth/authorize`,
    token_endpoint: `${settings.webUrl}/login/oauth/access_token`,
  };
  const configuration = new client.Configuration(server, settings.clientId, settings.clientSecret, client.ClientSecretPost(settings.clientSecret));
  configuration.timeout = timeoutSeconds;
  configuration[client.customFetch] = githubTokenErrorsAsHttpErrors;
  if (new URL(settings.webUrl).protocol === 'http:' || new URL(settings.apiUrl).protocol === 'http:') client.allowInsecureRequests(configuration);

  async function api<T>(accessToken: string, path: string, schema: z.ZodType<T>): Promise<T> {
    const headers = new Headers({ accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' });
    const response = await client.fetchProtectedResource(configuration, accessToken, new URL(`${settings.apiUrl}${path}`), 'GET', undefined, headers);
    if (!response.ok) {
      throw new UpstreamError(response.status >= 500 ? 'unreachable' : 'invalid_response', `${settings.id} API ${path} answered ${response.status}`);
    }
    const parsed = schema.safeParse(await response.json().catch(() => undefined));
    if (!parsed.success) throw new UpstreamError('invalid_response', `${settings.id} API ${path} returned an unexpected body`);
    return parsed.data;
  }

  return {
    id: settings.id,
    kind: 'github',
    displayName: settings.displayName,
    trustEmail: false,
    usesNonce: false,

    async authorizationUrl(redirectUri: string, checks: AuthorizationChecks): Promise<URL> {
      return client.buildAuthorizationUrl(configuration, {
        redirect_uri: redirectUri,
        scope: settings.scopes.join(' '),
        state: checks.state,
        code_challenge: await client.calculatePKCECodeChallenge(checks.codeVerifier),
        code_challenge_method: 'S256',
      });
    },

    async profile(callbackUrl: URL, checks: AuthorizationChecks): Promise<UpstreamProfile> {
      try {
        const tokens = await client.authorizationCodeGrant(configuration, callbackUrl, {
          pkceCodeVerifier: checks.codeVerifier,
          expectedState: checks.state,
        });
        const [user, emails] = await Promise.all([
          api(tokens.access_token, '/user', userSchema),
          api(tokens.access_token, '/user/emails', emailsSchema),
        ]);
        const primary = emails.find((entry) => entry.primary);
        return {
          subject: String(user.id),
          email: primary?.email.toLowerCase() ?? null,
          emailVerified: primary?.verified === true,
          name: user.name?.trim() || user.login,
          picture: user.avatar_url ?? undefined,
        };
      } catch (error) {
        throw toUpstreamError(error, settings.id);
      }
    },
  };
}

/**
 * GitHub's token endpoint reports errors (bad_verification_code, ...) with status 200. Re-issue
 * such a response as a 400 so openid-client reads it as the OAuth error it is.
 */
const githubTokenErrorsAsHttpErrors: client.CustomFetch = async (url, options) => {
  const response = await fetch(url, options);
  if (response.status !== 200 || !url.endsWith('/login/oauth/access_token')) return response;
  const body = await response.text();
  let error: unknown;
  try {
    error = (JSON.parse(body) as { error?: unknown }).error;
  } catch {
    error = undefined;
  }
  return new Response(body, { status: typeof error === 'string' ? 400 : 200, headers: response.headers });
};
