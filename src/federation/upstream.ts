import * as client from 'openid-client';

/** What an upstream says about the person, normalised across Google, GitHub and generic OIDC. */
export interface UpstreamProfile {
  /** Stable id at the upstream: OIDC `sub`, GitHub's numeric user id (never the login name). */
  subject: string;
  email: string | null;
  /** True only when the upstream itself vouches for the address (see each upstream). */
  emailVerified: boolean;
  name?: string | undefined;
  givenName?: string | undefined;
  familyName?: string | undefined;
  picture?: string | undefined;
  locale?: string | undefined;
}

/** The per-attempt secrets, kept server-side between the redirect and the callback. */
export interface AuthorizationChecks {
  state: string;
  codeVerifier: string;
  /** OIDC upstreams only. */
  nonce?: string | undefined;
}

export interface Upstream {
  readonly id: string;
  readonly kind: 'google' | 'github' | 'oidc';
  readonly displayName: string;
  /** Emails from this upstream count as verified without an email_verified claim. */
  readonly trustEmail: boolean;
  /** True for OIDC upstreams, which get a nonce. */
  readonly usesNonce: boolean;
  authorizationUrl(redirectUri: string, checks: AuthorizationChecks): Promise<URL>;
  /** Exchanges the code in `callbackUrl` and returns the person; throws UpstreamError. */
  profile(callbackUrl: URL, checks: AuthorizationChecks): Promise<UpstreamProfile>;
}

/**
 * Why an upstream sign-in failed, as a stable reason for the page and the audit log:
 *   denied          the person cancelled at the upstream (access_denied)
 *   upstream_error  the upstream answered the authorization request with another error
 *   unreachable     discovery, token, JWKS or API request failed at the network or HTTP level
 *   token_rejected  the token endpoint refused the code
 *   invalid_response the ID token or a response failed validation (signature, iss, aud, nonce, exp)
 */
export type UpstreamFailure = 'denied' | 'upstream_error' | 'unreachable' | 'token_rejected' | 'invalid_response';

export class UpstreamError extends Error {
  override name = 'UpstreamError';
  readonly reason: UpstreamFailure;
  /** The upstream's own error code, when it sent one. */
  readonly upstreamCode: string | undefined;

  constructor(reason: UpstreamFailure, message: string, options: { cause?: unknown; upstreamCode?: string } = {}) {
    super(message, { cause: options.cause });
    this.reason = reason;
    this.upstreamCode = options.upstreamCode;
  }
}

// oauth4webapi codes for responses that arrived but were not what a working server sends, and
// for a request its timeout ended (OAUTH_TIMEOUT: nothing came back in time).
const unreachableCodes = new Set(['OAUTH_RESPONSE_IS_NOT_CONFORM', 'OAUTH_RESPONSE_IS_NOT_JSON', 'OAUTH_PARSE_ERROR', 'OAUTH_TIMEOUT']);

/** Maps openid-client's errors onto our failure reasons; anything unexpected is rethrown. */
export function toUpstreamError(error: unknown, upstream: string): UpstreamError {
  if (error instanceof UpstreamError) return error;
  if (error instanceof client.AuthorizationResponseError) {
    const code = error.error;
    return new UpstreamError(code === 'access_denied' ? 'denied' : 'upstream_error', `${upstream} returned ${code}`, { cause: error, upstreamCode: code });
  }
  if (error instanceof client.ResponseBodyError) {
    return new UpstreamError('token_rejected', `${upstream} refused the request: ${error.error}`, { cause: error, upstreamCode: error.error });
  }
  if (error instanceof client.ClientError) {
    if (error.code === 'OAUTH_TIMEOUT') return new UpstreamError('unreachable', `${upstream} did not answer in time`, { cause: error });
    if (error.code && unreachableCodes.has(error.code)) return new UpstreamError('unreachable', `${upstream} sent an unusable response: ${error.message}`, { cause: error });
    return new UpstreamError('invalid_response', `${upstream} response failed validation: ${error.message}`, { cause: error });
  }
  if (isNetworkError(error)) return new UpstreamError('unreachable', `${upstream} could not be reached: ${describeNetworkError(error)}`, { cause: error });
  throw error;
}

function isNetworkError(error: unknown): boolean {
  // undici rejects with TypeError('fetch failed'); our timeouts abort with TimeoutError.
  if (error instanceof TypeError && error.message === 'fetch failed') return true;
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error as Error).message;
}

/** Seconds allowed for each request to an upstream by default (timeouts.upstreamMs); a person is waiting on the other end. */
export const UPSTREAM_TIMEOUT_SECONDS = 10;
