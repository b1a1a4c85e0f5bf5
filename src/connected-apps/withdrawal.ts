import type { Consent } from '../consents/repository.ts';
import { scopeClaims } from '../oidc/claims.ts';

/** One permission a person takes back from an application: a sign-in scope, or an API's scope. */
export interface Withdrawal {
  scope: string;
  /** The API's resource indicator (RFC 8707); null for an OpenID scope (profile, email, …). */
  resource: string | null;
}

/** What a grant holds, in the shape oidc-provider's Grant keeps it (lib/models/grant.js). */
export interface GrantShape {
  openid?: { scope?: string | undefined; claims?: string[] | undefined } | undefined;
  resources?: Record<string, string> | undefined;
  rejected?: GrantShape | undefined;
}

const words = (value: string | undefined): string[] => (value ?? '').split(' ').filter(Boolean);

// The claims a scope releases go with it: a claims-parameter request for `email` (OIDC Core
// §5.5) must not keep what withdrawing the email scope took away. `sub`, `acr`, `amr` stay.
const claimsOf = (scope: string): string[] => (scope === 'openid' ? [] : scopeClaims[scope] ?? []);

/**
 * Takes the scope out of the grant in place; true when it held it. It goes from the granted
 * side and from the rejected side too: oidc-provider's consent prompt asks only about scopes it
 * has not encountered either way (getOIDCScopeEncountered), and the next request for it must ask.
 */
export function narrowGrant(grant: GrantShape, { scope, resource }: Withdrawal): boolean {
  let held = false;
  for (const side of [grant, grant.rejected]) {
    if (!side) continue;
    if (resource === null) {
      if (!side.openid) continue;
      const before = words(side.openid.scope);
      if (before.includes(scope)) {
        if (side === grant) held = true;
        side.openid.scope = before.filter((word) => word !== scope).join(' ');
      }
      const dropped = claimsOf(scope);
      if (side.openid.claims) side.openid.claims = side.openid.claims.filter((claim) => !dropped.includes(claim));
    } else if (side.resources?.[resource] !== undefined) {
      const before = words(side.resources[resource]);
      if (before.includes(scope) && side === grant) held = true;
      side.resources[resource] = before.filter((word) => word !== scope).join(' ');
    }
  }
  return held;
}

/** Every scope word the grant still gives, under any API or as an OpenID scope. */
export function heldWords(grant: GrantShape & { getOIDCScope(): string; getResourceScope(resource: string): string }): Set<string> {
  const held = new Set(words(grant.getOIDCScope()));
  for (const indicator of Object.keys(grant.resources ?? {})) {
    for (const word of words(grant.getResourceScope(indicator))) held.add(word);
  }
  return held;
}

/** The consent without the scope (and, for an OpenID scope, the claims it releases); null when it had none of it. */
export function narrowConsent(consent: Consent, { scope, resource }: Withdrawal): Consent | null {
  if (resource === null) {
    if (!consent.scopes.includes(scope)) return null;
    const dropped = claimsOf(scope);
    return { ...consent, scopes: consent.scopes.filter((word) => word !== scope), claims: consent.claims.filter((claim) => !dropped.includes(claim)) };
  }
  const scopes = consent.resourceScopes[resource];
  if (!scopes?.includes(scope)) return null;
  const resourceScopes = { ...consent.resourceScopes, [resource]: scopes.filter((word) => word !== scope) };
  if (resourceScopes[resource]!.length === 0) delete resourceScopes[resource];
  return { ...consent, resourceScopes };
}
