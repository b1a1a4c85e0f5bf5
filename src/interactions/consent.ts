import type { Middleware } from 'koa';
import { AppError } from '../errors.ts';
import type { InteractionDeps } from './deps.ts';
import { noteForLog } from '../http/request-context.ts';
import { formFields, requireCsrf } from './form.ts';

interface MissingGrant {
  missingOIDCScope?: string[];
  missingOIDCClaims?: string[];
  missingResourceScopes?: Record<string, string[]>;
}

/** POST /interaction/:uid/confirm: grants what the consent page showed and remembers it. */
export function submitConsent({ provider, consents, csrf }: InteractionDeps): Middleware {
  return async (ctx) => {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    noteForLog(ctx, { clientId: String(details.params.client_id), accountId: details.session?.accountId });
    if (details.prompt.name !== 'consent') throw new AppError('interaction.wrong_step', 'This consent step is already complete. Go back and continue.');
    requireCsrf(csrf, details.uid, formFields(ctx));

    const accountId = details.session?.accountId;
    const clientId = String(details.params.client_id);
    if (!accountId) throw new AppError('interaction.no_session', 'Sign in first.');

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

    const returnTo = await provider.interactionResult(ctx.req, ctx.res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    ctx.status = 303;
    ctx.redirect(returnTo);
  };
}
