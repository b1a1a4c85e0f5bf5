// Which claims each scope releases (OIDC Core §5.4), plus our `roles` scope.
export const scopeClaims: Record<string, string[]> = {
  openid: ['sub'],
  profile: ['name', 'given_name', 'family_name', 'picture', 'locale', 'updated_at'],
  email: ['email', 'email_verified'],
  roles: ['roles'],
};

export const supportedScopes = ['openid', 'profile', 'email', 'offline_access', 'roles'] as const;
