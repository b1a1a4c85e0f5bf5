import type { Context, Middleware } from 'koa';
import { AppError } from '../errors.ts';
import { formFields } from '../interactions/form.ts';
import type { AccountConsoleDeps } from './deps.ts';
import { actorOf } from './actor.ts';
import { visitOf } from './guard.ts';

// Client ids, scope names and resource indicators are bounded where they are made (clients,
// src/resources/service.ts); a form field past these is not one of them.
const MAX_CLIENT_ID = 255;
const MAX_SCOPE = 255;
const MAX_RESOURCE = 2048;

function clientIdOf(ctx: Context): string {
  const clientId = String(ctx.params.clientId ?? '');
  if (clientId === '' || clientId.length > MAX_CLIENT_ID) throw new AppError('not_found', 'this account has not connected such an application');
  return clientId;
}

function field(ctx: Context, name: string, max: number): string | null {
  const value = formFields(ctx)[name];
  if (value === undefined || value === '') return null;
  if (typeof value !== 'string' || value.length > max || /\s/.test(value)) throw new AppError('request.invalid', `${name}: one scope name or resource indicator, at most ${max} characters`);
  return value;
}

/**
 * POST /account/apps/:clientId/withdraw-scope (`scope`, and `resource` for an API's scope): the
 * application loses that one permission now (src/connected-apps/service.ts).
 */
export function withdrawScope(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    const clientId = clientIdOf(ctx);
    const scope = field(ctx, 'scope', MAX_SCOPE);
    if (!scope) throw new AppError('request.invalid', 'scope: which permission to withdraw');
    await deps.connectedApps.withdrawScope(visitOf(ctx).account.id, clientId, { scope, resource: field(ctx, 'resource', MAX_RESOURCE) }, actorOf(ctx));
    ctx.status = 303;
    ctx.redirect('/account/apps?done=scope_withdrawn');
  };
}

/** POST /account/apps/:clientId/remove: the application loses everything, and must ask again. */
export function removeApp(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    await deps.connectedApps.withdrawApp(visitOf(ctx).account.id, clientIdOf(ctx), actorOf(ctx));
    ctx.status = 303;
    ctx.redirect('/account/apps?done=removed');
  };
}
