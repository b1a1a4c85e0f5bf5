import type { Context } from 'koa';
import { AppError } from '../errors.ts';
import type { InteractionDeps } from './deps.ts';
import { noteForLog } from '../http/request-context.ts';
import { setLocaleHints } from '../i18n/request-locale.ts';
import { clientDisplay, type ClientDisplay } from '../pages/client-display.ts';
import type { PageData } from '../pages/render.ts';
import { formFields, requireCsrf } from './form.ts';

export type InteractionDetails = Awaited<ReturnType<InteractionDeps['provider']['interactionDetails']>>;

/** One interaction step as every handler starts it (STYLE.md §12). */
export interface Step {
  details: InteractionDetails;
  uid: string;
  /** The posted form (empty on GET), CSRF already checked. */
  fields: Record<string, string>;
  client: ClientDisplay;
  /** The signed-in account, when the interaction has one (consent, re-authentication). */
  accountId: string | undefined;
}

/**
 * Loads the interaction (its cookie proves the browser), checks it is at the expected prompt,
 * checks the CSRF token of a POST and reads its form, then tells the log line and the page's
 * language who and what this is: the client, the account, the relying party's `ui_locales` and
 * the person's `locale` claim.
 */
export async function interactionStep(deps: InteractionDeps, ctx: Context, options: { prompt: 'login' | 'consent' | 'any' }): Promise<Step> {
  const details = await deps.provider.interactionDetails(ctx.req, ctx.res);
  // The cookie names the browser's current interaction; a URL for another one is a stale tab.
  if (typeof ctx.params.uid === 'string' && details.uid !== ctx.params.uid) throw new AppError('interaction.expired', 'the interaction in the URL is not this browser\'s current one');
  const clientId = String(details.params.client_id);
  const accountId = details.session?.accountId;
  noteForLog(ctx, { clientId, accountId });
  const account = accountId ? await deps.accounts.findById(accountId) : null;
  setLocaleHints(ctx, { uiLocales: typeof details.params.ui_locales === 'string' ? details.params.ui_locales : null, claim: account?.locale });
  if (options.prompt !== 'any' && details.prompt.name !== options.prompt) {
    throw new AppError('interaction.wrong_step', `this interaction is at the ${details.prompt.name} prompt, not ${options.prompt}`);
  }
  const fields = ctx.method === 'POST' ? formFields(ctx) : {};
  if (ctx.method === 'POST') requireCsrf(deps.csrf, details.uid, fields);
  const client = clientDisplay(await deps.provider.Client.find(clientId), deps.pages.t(ctx)('common.the_application'));
  return { details, uid: details.uid, fields, client, accountId };
}

/** Renders a page of this step: its uid, CSRF token and client come along. */
export function renderStep(ctx: Context, deps: InteractionDeps, step: Step, view: string, data: PageData = {}): void {
  deps.pages.render(ctx, view, { uid: step.uid, csrf: deps.csrf.token(step.uid), client: step.client, clientId: step.client.id, ...data });
}

/** Ends the step: hands the result to oidc-provider and follows it back to /auth. */
export async function finishStep(ctx: Context, deps: InteractionDeps, result: Parameters<InteractionDeps['provider']['interactionResult']>[2], merge: boolean): Promise<void> {
  const returnTo = await deps.provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
  ctx.status = 303;
  ctx.redirect(returnTo);
}
