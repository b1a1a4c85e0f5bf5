import type { ClientMetadata } from '../clients/repository.ts';

/** The account console's client id: reserved, served from code (src/oidc/client-adapter.ts). */
export const ACCOUNT_CLIENT_ID = 'idp-account';

export const accountCallbackUrl = (issuer: string): string => `${issuer}/account/callback`;

/**
 * The account console signs people in through this provider as a client of it, as Keycloak's
 * account console does: the same login page, second factor and session rules as every relying
 * party. It is public (the code is redeemed in-process, with a PKCE verifier kept server-side),
 * gets no refresh token (it holds no tokens at all) and asks only for `openid`. Built here from
 * the issuer rather than stored, so no operator command can delete or misconfigure it; a stored
 * client with the same id is never read.
 */
export function accountConsoleClient(issuer: string, brandName: string): ClientMetadata {
  return {
    client_id: ACCOUNT_CLIENT_ID,
    // Shown on the login and sign-out pages; the brand, as no client name is translated.
    client_name: brandName,
    client_uri: `${issuer}/account`,
    application_type: 'web',
    redirect_uris: [accountCallbackUrl(issuer)],
    post_logout_redirect_uris: [],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'none',
    scope: 'openid',
    require_auth_time: true,
  };
}
