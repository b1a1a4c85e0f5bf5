import type { Middleware } from 'koa';
import { AppError } from '../errors.ts';
import type { InteractionDeps } from './deps.ts';
import { finishStep, interactionStep } from './step.ts';

interface MissingGrant {
  missingOIDCScope?: string[];
  missingOIDCClaims?: string[];
  missingResourceScopes?: Record<string, string[]>;
}

/** POST /interaction/:uid/confirm: grants what the consent page showed and remembers it. */
export function submitConsent(deps: InteractionDeps): Middleware {
  const { provider, consents } = deps;
  return async (ctx) => {
    const { details, accountId, client } = await interactionStep(deps, ctx, { prompt: 'consent' });
    if (!accountId) throw new AppError('interaction.no_session', 'the consent step has no signed-in account');
    const clientId = client.id;

    const grant = (details.grantId ? await provider.Grant.find(details.grantId) : undefined)
      ?? new provider.Grant({ accountId, clientId });
    const missing = details.prompt.details as MissingGrant;
    if (missing.missingOIDCScope?.length) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims?.length) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    await consents.remember({
      accountId,
      clientId,
      scopes: missing.missingOIDCScope ?? [],
      claims: missing.missingOIDCClaims ?? [],
      resourceScopes: missing.missingResourceScopes ?? {},
    });
    await finishStep(ctx, deps, { consent: { grantId } }, true);
  };
}
