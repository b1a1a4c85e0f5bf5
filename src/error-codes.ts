/**
 * Every error code we answer with, in one table: its HTTP status and the catalogue key of what a
 * person reads (`<key>.title`, `<key>.text` in src/i18n/locales/*.json). The page, the JSON of our
 * routes, the admin API and the CLI all take status and words from here (src/http/error-view.ts,
 * src/admin/errors.ts, src/cli/errors.ts), so they cannot drift. Codes are stable: clients and
 * scripts match on them. One meaning, one code: `user.not_found` and `interaction.csrf` were
 * merged into `account.not_found` and `request.csrf`.
 *
 * The OAuth codes at the end are oidc-provider's (RFC 6749 §4.1.2.1, §5.2; OIDC Core §3.1.2.6);
 * they are listed for the words the error page shows in their place.
 */
export const errorCodes = {
  // Requests any route can refuse.
  'request.invalid': { status: 400, key: 'errors.request.invalid' },
  'request.csrf': { status: 403, key: 'errors.request.csrf' },
  'request.invalid_characters': { status: 400, key: 'errors.request.invalid_characters' },
  'request.unsupported_encoding': { status: 415, key: 'errors.request.unsupported' },
  'request.unsupported_media_type': { status: 415, key: 'errors.request.unsupported' },
  'request.aborted': { status: 400, key: 'errors.request.aborted' },
  'request.too_large': { status: 413, key: 'errors.request.too_large' },
  'request.invalid_email': { status: 400, key: 'errors.request.invalid_email' },
  'request.invalid_cursor': { status: 400, key: 'errors.request.invalid' },
  not_found: { status: 404, key: 'errors.not_found' },
  rate_limited: { status: 429, key: 'errors.rate_limited' },
  server_error: { status: 500, key: 'errors.server_error' },
  temporarily_unavailable: { status: 503, key: 'errors.temporarily_unavailable' },

  // Sign-in steps (src/interactions).
  'interaction.expired': { status: 400, key: 'errors.interaction.expired' },
  'interaction.wrong_step': { status: 400, key: 'errors.interaction.wrong_step' },
  // A phishing-resistant sign-in offered something other than a passkey.
  'mfa.passkey_required': { status: 400, key: 'errors.mfa.passkey_required' },
  'interaction.no_session': { status: 400, key: 'errors.interaction.no_session' },
  'registration.disabled': { status: 404, key: 'errors.registration.disabled' },
  'link.invalid': { status: 400, key: 'errors.link.invalid' },
  'federation.unknown_upstream': { status: 404, key: 'errors.federation.unknown_upstream' },
  'federation.denied': { status: 400, key: 'errors.federation.denied' },
  'federation.upstream_error': { status: 400, key: 'errors.federation.upstream_error' },
  'federation.unreachable': { status: 502, key: 'errors.federation.unreachable' },
  'federation.token_rejected': { status: 400, key: 'errors.federation.token_rejected' },
  'federation.invalid_response': { status: 400, key: 'errors.federation.invalid_response' },
  'federation.state_invalid': { status: 400, key: 'errors.federation.state_invalid' },
  'federation.too_many_attempts': { status: 400, key: 'errors.federation.too_many_attempts' },
  'federation.account_disabled': { status: 403, key: 'errors.federation.account_disabled' },
  'federation.linked_elsewhere': { status: 409, key: 'errors.federation.linked_elsewhere' },
  'federation.no_email': { status: 400, key: 'errors.federation.no_email' },
  'federation.email_unverified': { status: 400, key: 'errors.federation.email_unverified' },

  // The account console (src/account): signing in to it, and its JSON endpoints.
  'console.sign_in_denied': { status: 400, key: 'account.errors.sign_in_denied' },
  'console.sign_in_expired': { status: 400, key: 'account.errors.sign_in_expired' },
  'console.sign_in_invalid': { status: 400, key: 'account.errors.sign_in_invalid' },
  'console.signed_out': { status: 401, key: 'account.errors.signed_out' },
  'console.reauth_required': { status: 401, key: 'account.errors.reauth_required' },

  // Administration (admin API, CLI): operators read the detail; people never meet these.
  'account.not_found': { status: 404, key: 'errors.admin.not_found' },
  'account.email_taken': { status: 409, key: 'errors.admin.conflict' },
  'account.invalid': { status: 400, key: 'errors.admin.invalid' },
  'account.invalid_email': { status: 400, key: 'errors.admin.invalid' },
  'account.invalid_password': { status: 400, key: 'errors.admin.invalid' },
  'session.not_found': { status: 404, key: 'errors.admin.not_found' },
  'grant.not_found': { status: 404, key: 'errors.admin.not_found' },
  'identity.not_found': { status: 404, key: 'errors.admin.not_found' },
  // The account API: unlinking what is the account's last way to sign in.
  'account.last_sign_in_way': { status: 409, key: 'errors.admin.conflict' },
  'client.not_found': { status: 404, key: 'errors.admin.not_found' },
  'client.invalid': { status: 400, key: 'errors.admin.invalid' },
  'client.exists': { status: 409, key: 'errors.admin.conflict' },
  'client.public': { status: 409, key: 'errors.admin.conflict' },
  'resource.not_found': { status: 404, key: 'errors.admin.not_found' },
  'resource.grant_not_found': { status: 404, key: 'errors.admin.not_found' },
  'resource.exists': { status: 409, key: 'errors.admin.conflict' },
  'resource.protected': { status: 409, key: 'errors.admin.conflict' },
  'resource.invalid_indicator': { status: 400, key: 'errors.admin.invalid' },
  'resource.invalid_scope': { status: 400, key: 'errors.admin.invalid' },
  'resource.invalid_ttl': { status: 400, key: 'errors.admin.invalid' },
  'role.not_found': { status: 404, key: 'errors.admin.not_found' },
  'role.exists': { status: 409, key: 'errors.admin.conflict' },
  'role.invalid_name': { status: 400, key: 'errors.admin.invalid' },
  'role.cycle': { status: 409, key: 'errors.admin.conflict' },
  'role.not_member': { status: 404, key: 'errors.admin.not_found' },
  'role.permission_not_granted': { status: 404, key: 'errors.admin.not_found' },
  'permission.not_found': { status: 404, key: 'errors.admin.not_found' },
  'permission.exists': { status: 409, key: 'errors.admin.conflict' },
  'permission.invalid_name': { status: 400, key: 'errors.admin.invalid' },
  'permission.unknown_scope': { status: 400, key: 'errors.admin.invalid' },
  'mfa.factor_not_found': { status: 404, key: 'errors.admin.not_found' },
  // Signing keys (src/oidc/keys): an unknown kid; a second next key; the active key with no successor.
  'key.not_found': { status: 404, key: 'errors.admin.not_found' },
  'key.next_exists': { status: 409, key: 'errors.admin.conflict' },
  'key.no_replacement': { status: 409, key: 'errors.admin.conflict' },
  // Webhooks (src/events/webhooks): an unknown id; a URL or an event filter refused.
  'webhook.not_found': { status: 404, key: 'errors.admin.not_found' },
  'webhook.invalid': { status: 400, key: 'errors.admin.invalid' },
  'cli.password_missing': { status: 400, key: 'errors.admin.invalid' },
  'cli.password_twice': { status: 400, key: 'errors.admin.invalid' },

  // oidc-provider's protocol errors, as the error page words them.
  invalid_request: { status: 400, key: 'errors.oauth.invalid_request' },
  invalid_client: { status: 401, key: 'errors.oauth.invalid_client' },
  invalid_redirect_uri: { status: 400, key: 'errors.oauth.invalid_redirect_uri' },
  unauthorized_client: { status: 400, key: 'errors.oauth.unauthorized_client' },
  invalid_scope: { status: 400, key: 'errors.oauth.invalid_scope' },
  invalid_target: { status: 400, key: 'errors.oauth.invalid_scope' },
  unsupported_response_type: { status: 400, key: 'errors.oauth.unsupported' },
  unsupported_response_mode: { status: 400, key: 'errors.oauth.unsupported' },
  request_not_supported: { status: 400, key: 'errors.oauth.unsupported' },
  request_uri_not_supported: { status: 400, key: 'errors.oauth.unsupported' },
  registration_not_supported: { status: 400, key: 'errors.oauth.unsupported' },
  invalid_request_object: { status: 400, key: 'errors.oauth.invalid_request' },
  invalid_request_uri: { status: 400, key: 'errors.oauth.invalid_request' },
  access_denied: { status: 400, key: 'errors.oauth.access_denied' },
  login_required: { status: 400, key: 'errors.oauth.login_required' },
  consent_required: { status: 400, key: 'errors.oauth.login_required' },
  interaction_required: { status: 400, key: 'errors.oauth.login_required' },
  invalid_grant: { status: 400, key: 'errors.oauth.invalid_grant' },
  invalid_token: { status: 401, key: 'errors.oauth.invalid_grant' },
} as const satisfies Record<string, { status: number; key: string }>;

export type ErrorCode = keyof typeof errorCodes;

export const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(errorCodes, code);

/** The table's entry, or the server error's for a code it lacks (an OAuth code we do not list). */
export const errorEntry = (code: string): { status: number; key: string } =>
  isErrorCode(code) ? errorCodes[code] : errorCodes.server_error;
