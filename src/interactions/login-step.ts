import type { Context } from 'koa';
import { AppError } from '../errors.ts';
import type { InteractionDeps } from './deps.ts';

/** The interaction, when it is still at the login prompt (registration and reset live there). */
export async function loginStep(deps: InteractionDeps, ctx: Context) {
  const details = await deps.provider.interactionDetails(ctx.req, ctx.res);
  if (details.prompt.name !== 'login') throw new AppError('interaction.wrong_step', 'This sign-in step is already complete. Go back and continue.');
  return details;
}

/** The page after any request that sends mail: identical whether or not an account has the email. */
export function renderCheckEmail(ctx: Context, deps: InteractionDeps, uid: string, email: string, after: 'registered' | 'reset' | 'resent'): void {
  ctx.type = 'html';
  ctx.set('cache-control', 'no-store');
  ctx.body = deps.renderPage('check-email', { title: 'Check your email', uid, csrf: deps.csrf.token(uid), email, after });
}
