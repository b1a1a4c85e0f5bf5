import type { Context } from 'koa';
import type { InteractionDeps } from './deps.ts';
import { renderStep, type Step } from './step.ts';

/** The page after any request that sends mail: identical whether or not an account has the email. */
export function renderCheckEmail(ctx: Context, deps: InteractionDeps, step: Step, email: string, after: 'registered' | 'reset' | 'resent'): void {
  renderStep(ctx, deps, step, 'check-email', { email, after });
}
