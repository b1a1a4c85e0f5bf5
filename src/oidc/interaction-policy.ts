import { interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import type { MfaPolicy } from '../mfa/policy.ts';
import { acrClaimRequest, neededLevel } from '../mfa/requirements.ts';
import { atLeast, isLevel, levelOf } from '../mfa/levels.ts';

const { base, Check } = interactionPolicy;

/** The extra client metadata field a client sets to require a level (issue 13 §4). */
export const MINIMUM_ACR = 'minimum_acr';

export const minimumAcrOf = (client: { metadata(): Record<string, unknown> } | undefined | null): unknown => client?.metadata()[MINIMUM_ACR];

/**
 * oidc-provider's prompts with the login prompt's `acr` checks replaced by levels: its own
 * (`essential_acr`, `essential_acrs`) compare `acr` strings and know nothing of the operator's
 * policy. `acr_level` asks for the login prompt when the session has not reached the level the
 * policy and the request need (the interaction then asks only for what is missing: a second
 * factor, not the password again), or when an essential `acr` the session does reach is not
 * the one it carries (the interaction then only relabels it).
 */
export function createInteractionPolicy(policy: MfaPolicy) {
  const prompts = base();
  const login = prompts.get('login')!;
  login.checks.remove('essential_acrs');
  login.checks.remove('essential_acr');
  login.checks.push(new Check('acr_level', 'the sign-in has not reached the authentication level this request needs', 'login_required', async (ctx: KoaContextWithOIDC) => {
    const { oidc } = ctx;
    const accountId = oidc.session?.accountId;
    // No session: `no_session` asks already. A login just finished: the interaction decided.
    if (!accountId || oidc.result?.login) return Check.NO_NEED_TO_PROMPT;
    const request = acrClaimRequest(oidc.claims);
    const needed = await neededLevel(policy, accountId, { minimumAcr: minimumAcrOf(oidc.client) }, request);
    const reached = levelOf(oidc.session.amr);
    if (!atLeast(reached, needed)) return Check.REQUEST_PROMPT;
    const reachable = request.values.filter(isLevel).some((value) => atLeast(reached, value));
    if (request.essential && reachable && !request.values.includes(String(oidc.session.acr))) return Check.REQUEST_PROMPT;
    return Check.NO_NEED_TO_PROMPT;
  }));
  return prompts;
}
