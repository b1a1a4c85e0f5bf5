import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Middleware } from 'koa';
import { z } from 'zod';
import { AppError } from '../../errors.ts';
import type { Logger } from '../../log.ts';
import { adminAuthErrors, AdminAuthError } from '../../admin/auth.ts';
import { adminErrors } from '../../admin/errors.ts';
import { buildOpenApi } from '../../admin/openapi.ts';
import type { AccountApiRoute } from './route.ts';
import type { AccountCaller } from './auth.ts';
import type { AccountApiDeps } from './deps.ts';
import { ACCOUNT_API_BASE } from './resource.ts';
import type { Clock } from '../../clock.ts';

function parse<T extends z.ZodType>(schema: T | undefined, value: unknown, where: string): z.output<T> {
  if (!schema) return undefined as z.output<T>;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new AppError('request.invalid', `${[where, ...issue.path.map(String)].join('.')}: ${issue.message}`);
}

/**
 * The account API under /account/api, for single-page apps: the console's operations as JSON,
 * authorised by a person's access token for this provider's account resource, account:read for
 * reads and account:write for changes. Errors and challenges as the admin API gives them.
 */
export function accountApiRouter(options: { deps: AccountApiDeps; routes: AccountApiRoute[]; authenticate: (ctx: Parameters<Middleware>[0]) => Promise<AccountCaller>; logger: Logger; issuer: string; reauthSeconds: number; clock: Clock }): Router {
  const router = new Router({ prefix: ACCOUNT_API_BASE });
  const json = bodyParser({ enableTypes: ['json'], jsonLimit: '64kb', encoding: 'utf-8' }) as Middleware;
  router.use(adminErrors(options.logger), adminAuthErrors());
  router.use(async (ctx, next) => {
    ctx.set('cache-control', 'no-store');
    await next();
  });
  // Built on first request, as the admin API's.
  let document: ReturnType<typeof buildOpenApi> | undefined;
  router.get('/openapi.json', (ctx) => {
    ctx.body = document ??= buildOpenApi(options.routes, options.issuer, {
      title: 'Identity provider account API', description: 'A person\'s own account: profile, second factors, sessions, connected apps, linked accounts, data.',
      base: ACCOUNT_API_BASE, scopes: { 'account:read': 'read your account', 'account:write': 'change your account' }, flow: 'authorizationCode',
    });
  });
  for (const definition of options.routes) {
    const handler: Middleware = async (ctx) => {
      const caller = await options.authenticate(ctx);
      if (!caller.scopes.has(definition.scope)) throw new AdminAuthError(403, 'insufficient_scope', `This operation needs the ${definition.scope} scope.`);
      if (definition.fresh && (caller.authTime === null || options.clock.now() / 1000 - caller.authTime > options.reauthSeconds)) {
        throw new AdminAuthError(401, 'insufficient_user_authentication', `This change needs a sign-in from the last ${options.reauthSeconds} seconds: get a new token with max_age=${options.reauthSeconds}.`, `max_age=${options.reauthSeconds}`);
      }
      if (definition.body && ctx.method !== 'GET' && !ctx.is('application/json')) {
        throw new AppError('request.unsupported_media_type', 'Send a JSON body with Content-Type: application/json.');
      }
      const params = parse(definition.params, ctx.params, 'path');
      const query = parse(definition.query, ctx.query, 'query');
      const body = parse(definition.body, (ctx.request as { body?: unknown }).body ?? {}, 'body');
      const result = await definition.handler({ params, query, body, ctx, deps: options.deps, caller });
      ctx.status = definition.status ?? (result === undefined ? 204 : 200);
      if (result !== undefined) ctx.body = result;
    };
    router[definition.method](definition.path, json, handler);
  }
  router.all('/{*rest}', (ctx) => {
    ctx.status = 404;
    ctx.body = { error: 'not_found', message: `no account API operation ${ctx.method} ${ctx.path}` };
  });
  return router;
}
