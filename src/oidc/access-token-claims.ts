import type { RbacService } from '../rbac/service.ts';

interface IssuedToken {
  accountId?: string | undefined;
  clientId?: string | undefined;
  scope?: string | undefined;
  resourceServer?: { identifier(): string } | undefined;
}

/**
 * Shapes a JWT access token for an API resource from roles:
 *   - a person's token: `scope` is what the client asked for (and was granted) intersected with
 *     the permissions the person's roles give on that API; `permissions` repeats it as a list;
 *   - a client-credentials token: its scopes were already limited to what the client was granted
 *     or its roles permit (getResourceServerInfo); `permissions` lists them;
 *   - `roles`: the effective roles of the person or the client.
 * On the account API (`ownAccountScopes`) a person's token may carry its scopes without a role:
 * they only ever reach the person's own account (src/account/api).
 * `token.scope` is changed too, so the token response's `scope` says what was really issued.
 */
export async function accessTokenClaims(
  rbac: Pick<RbacService, 'forAccount' | 'forClient'>, token: IssuedToken, payload: Record<string, unknown>,
  /** APIs where every person holds these scopes over their own account, whatever their roles (the account API). */
  ownAccountScopes: Readonly<Record<string, readonly string[]>> = {},
): Promise<void> {
  const indicator = token.resourceServer?.identifier();
  if (!indicator) return;
  const requested = (token.scope ?? '').split(' ').filter(Boolean);
  if (token.accountId) {
    const effective = await rbac.forAccount(token.accountId);
    const allowed = new Set([...(effective.permissions[indicator] ?? []), ...(ownAccountScopes[indicator] ?? [])]);
    const scopes = requested.filter((scope) => allowed.has(scope));
    token.scope = scopes.join(' ');
    payload.scope = scopes.length ? token.scope : undefined;
    payload.permissions = scopes;
    payload.roles = effective.roles;
  } else if (token.clientId) {
    payload.permissions = requested;
    payload.roles = (await rbac.forClient(token.clientId)).roles;
  }
}
