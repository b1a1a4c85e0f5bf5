import type { Middleware } from 'koa';
import type { InteractionDeps } from './deps.ts';
import { finishStep, interactionStep } from './step.ts';

/** POST /interaction/:uid/abort: the person said no; the client receives access_denied. */
export function abortInteraction(deps: InteractionDeps): Middleware {
  return async (ctx) => {
    await interactionStep(deps, ctx, { prompt: 'any' });
    await finishStep(ctx, deps, { error: 'access_denied', error_description: 'The user denied the request' }, false);
  };
}
