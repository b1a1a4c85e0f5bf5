import type { Context, Middleware } from 'koa';
import type { InteractionDeps } from './deps.ts';
import { describeScope } from './scope-descriptions.ts';
import { supportedScopes } from '../oidc/claims.ts';
import { renderLoginPage } from './login-page.ts';
import { finishStep, interactionStep, renderStep, type Step } from './step.ts';
import { continueSignIn } from './after-first-factor.ts';

/** GET /interaction/:uid: the page for the step oidc-provider is asking for (login or consent). */
export function showInteraction(deps: InteractionDeps): Middleware {
  const { provider } = deps;
  return async (ctx) => {
    // Asked for together with the interaction, so both leave in one round trip; most login
    // pages have none. A failure surfaces where it is awaited (or nowhere, if never needed).
    const uid = typeof ctx.params.uid === 'string' ? ctx.params.uid : null;
    const pending = uid === null ? null : deps.pendingRegistrations.find(uid);
    pending?.catch(() => undefined);
    const step = await interactionStep(deps, ctx, { prompt: 'any' });
    const { details } = step;

    if (details.prompt.name === 'login') {
      if (await stepUp(ctx, deps, step)) return;
      if (await continueRegistration(ctx, deps, step, step.uid === uid ? pending : null)) return;
      const hint = typeof details.params.login_hint === 'string' ? details.params.login_hint.slice(0, 254) : '';
      renderLoginPage(ctx, deps, step, { email: hint, error: null });
      return;
    }

    const t = deps.pages.t(ctx);
    // Everything the application will hold after this step, not only what is new: a person
    // deciding should see the whole picture (prompt=consent re-asks for scopes granted before).
    const missing = details.prompt.details as { missingResourceScopes?: Record<string, string[]> };
    // API scopes are listed under their API below, not as sign-in permissions.
    const requested = String(details.params.scope ?? '').split(' ').filter((scope) => (supportedScopes as readonly string[]).includes(scope));
    const scopes = requested.map((scope) => ({ scope, text: describeScope(t, scope) }));
    // Per API: what this request adds plus what an earlier consent already allowed.
    const grant = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
    const requestedResources = [details.params.resource ?? []].flat().map(String);
    const resources = [...new Set([...requestedResources, ...Object.keys(missing.missingResourceScopes ?? {})])]
      .map((indicator) => {
        const held = grant?.getResourceScope(indicator).split(' ') ?? [];
        const list = [...new Set([...held, ...(missing.missingResourceScopes?.[indicator] ?? [])])].filter(Boolean);
        return { indicator, scopes: list };
      })
      .filter((resource) => resource.scopes.length > 0);
    const list = new Intl.ListFormat(deps.pages.locale(ctx), { type: 'unit' });
    renderStep(ctx, deps, step, 'consent', { scopes, resources, list: (items: string[]) => list.format(items) });
  };
}

/**
 * Registration continues the sign-in it started from: once the account this browser created is
 * verified (or needs no verification), coming back here signs it in without the password again.
 */
async function continueRegistration(ctx: Context, deps: InteractionDeps, step: Step, asked: Promise<string | null> | null): Promise<boolean> {
  const accountId = await (asked ?? deps.pendingRegistrations.find(step.uid));
  if (!accountId) return false;
  const account = await deps.accounts.findById(accountId);
  if (!account || account.disabled || (deps.requireVerifiedEmail && !account.emailVerified)) return false;
  await deps.pendingRegistrations.drop(step.uid);
  await deps.audit.record({ event: 'login.succeeded', reason: 'registered', accountId, email: account.email, ip: ctx.ip, userAgent: ctx.get('user-agent') || null });
  deps.logger.info({ event: 'registration.continued', accountId, uid: step.uid, id: ctx.state.requestId }, 'signed in the account registered in this sign-in');
  await finishStep(ctx, deps, { login: { accountId, amr: ['pwd'], remember: true } }, false);
  return true;
}

/**
 * A signed-in session asked for a level it has not reached (or for an essential `acr` it
 * reaches under another name): ask only for what is missing, a second factor and not the
 * password again (issue 13 §4). Any other reason for the login prompt (no session, max_age,
 * prompt=login, another account hinted) means a whole sign-in.
 */
async function stepUp(ctx: Context, deps: InteractionDeps, step: Step): Promise<boolean> {
  const { details } = step;
  const session = details.session as { accountId?: string; uid?: string; amr?: string[] } | undefined;
  if (!session?.accountId || !session.uid) return false;
  if (details.prompt.reasons.length === 0 || details.prompt.reasons.some((reason) => reason !== 'acr_level')) return false;
  const account = await deps.accounts.findById(session.accountId);
  if (!account || account.disabled) return false;
  const stored = await deps.provider.Session.findByUid(session.uid);
  deps.logger.info({ event: 'mfa.step_up', accountId: account.id, uid: step.uid, id: ctx.state.requestId }, 'the request needs a higher level than the session has');
  await continueSignIn(ctx, deps, details, account.id, session.amr ?? [], { loginTs: stored?.loginTs });
  return true;
}
