import type { Context } from 'koa';
import type { InteractionDeps } from './deps.ts';
import { renderStep, type Step } from './step.ts';

/** The login page, from any handler that renders it (first view, failed login). */
export function renderLoginPage(ctx: Context, deps: InteractionDeps, step: Step, form: { email: string; error: string | null; errorField?: 'email' | 'password' }): void {
  renderStep(ctx, deps, step, 'login', {
    // Only configured upstreams get a button.
    upstreams: [...deps.upstreams.values()].map((upstream) => ({ id: upstream.id, kind: upstream.kind, displayName: upstream.displayName })),
    registrationEnabled: deps.registrationEnabled,
    errorField: form.errorField ?? 'email',
    ...form,
  });
}
