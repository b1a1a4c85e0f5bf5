import type { MfaPolicy } from './policy.ts';
import { higher, requestedLevel, type Level } from './levels.ts';

/** What an authorization request asks of the sign-in's `acr` (OIDC Core §3.1.2.1 and §5.5.1.1). */
export interface AcrRequest {
  values: string[];
  essential: boolean;
}

/**
 * The `acr` request of an authorization request's parameters: `acr_values` (a list, voluntary)
 * or the ID token's `acr` in the `claims` parameter (`value`/`values`, maybe essential). As in
 * oidc-provider (lib/actions/authorization/claims.js), `acr_values` wins when both are given.
 */
export function acrRequestOf(params: Record<string, unknown>): AcrRequest {
  if (typeof params.acr_values === 'string' && params.acr_values.trim()) {
    return { values: params.acr_values.trim().split(/\s+/), essential: false };
  }
  return acrClaimRequest(parseClaims(params.claims));
}

/** The same from the `claims` member oidc-provider has already parsed (`ctx.oidc.claims`). */
export function acrClaimRequest(claims: unknown): AcrRequest {
  const acr = (claims as { id_token?: { acr?: { value?: unknown; values?: unknown; essential?: unknown } } } | undefined)?.id_token?.acr;
  if (!acr || typeof acr !== 'object') return { values: [], essential: false };
  const values = Array.isArray(acr.values) ? acr.values.filter((value): value is string => typeof value === 'string') : typeof acr.value === 'string' ? [acr.value] : [];
  return { values, essential: acr.essential === true };
}

function parseClaims(claims: unknown): unknown {
  if (typeof claims !== 'string') return claims;
  try {
    return JSON.parse(claims);
  } catch {
    return undefined;
  }
}

/**
 * The level a sign-in must reach: the higher of what the operator's policy asks of this account
 * at this client and what the relying party asked for. A relying party's `acr_values` are taken as
 * a requirement (as Keycloak's step-up does), so an application can insist on a second factor
 * for one request; values we do not know are ignored.
 */
export async function neededLevel(policy: MfaPolicy, accountId: string, client: { minimumAcr?: unknown } | null, request: AcrRequest): Promise<Level> {
  const required = await policy.levelFor(accountId, client);
  const asked = requestedLevel(request.values);
  return asked ? higher(required, asked) : required;
}
