// Which claims each scope releases (OIDC Core §5.4), plus our `roles` scope.
export const scopeClaims: Record<string, string[]> = {
  // acr and amr come from the sign-in, not the account; listed under openid so every ID token says
  // how the person signed in (otherwise oidc-provider releases them only when asked by `claims`).
  openid: ['sub', 'acr', 'amr'],
  profile: ['name', 'given_name', 'family_name', 'picture', 'locale', 'updated_at'],
  email: ['email', 'email_verified'],
  roles: ['roles'],
};

/**
 * Claims about the sign-in itself, not tied to a scope: oidc-provider's defaults, plus `amr`
 * (RFC 8176 method values) so the ID token says how the person signed in.
 */
export const sessionClaims = { sid: null, auth_time: null, iss: null } as const;

export const supportedScopes = ['openid', 'profile', 'email', 'offline_access', 'roles'] as const;
