import Router from '@koa/router';
import { bodyParser } from '@koa/bodyparser';
import type { Middleware } from 'koa';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { AdminDeps } from './deps.ts';
import type { AdminActor, AdminRoute } from './route.ts';
import { adminAuthErrors, requireScope } from './auth.ts';
import { adminErrors } from './errors.ts';
import { buildOpenApi } from './openapi.ts';

export const ADMIN_BASE = '/admin/api/v1';

/** Route tags whose changes are audited here as `admin.changed`; the others audit themselves. */
const CONFIGURATION_TAGS = new Set(['clients', 'roles', 'permissions', 'resources']);

/** zod's first issue as one line naming the field: "body.email: Invalid email address". */
function parse<T extends z.ZodType>(schema: T | undefined, value: unknown, where: string): z.output<T> {
  if (!schema) return undefined as z.output<T>;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = [where, ...issue.path.map(String)].join('.');
  throw new AppError('request.invalid', `${path}: ${issue.message}`);
}

/**
 * The admin API under /admin/api/v1: JSON in and out, bearer tokens for this provider's own
 * admin resource, admin:read for reads and admin:write for changes.
 */
export function adminRouter(options: { deps: AdminDeps; routes: AdminRoute[]; authenticate: (ctx: Parameters<Middleware>[0]) => Promise<AdminActor>; logger: Logger; issuer: string }): Router {
  const router = new Router({ prefix: ADMIN_BASE });
  const json = bodyParser({ enableTypes: ['json'], jsonLimit: '64kb', encoding: 'utf-8' }) as Middleware;
  router.use(adminErrors(options.logger), adminAuthErrors());
  router.use(async (ctx, next) => {
    ctx.set('cache-control', 'no-store');
    await next();
  });

  // Built on first request: about 75 ms and 1 MB that most processes never need.
  let document: ReturnType<typeof buildOpenApi> | undefined;
  router.get('/openapi.json', (ctx) => {
    ctx.body = document ??= buildOpenApi(options.routes, options.issuer);
  });

  for (const definition of options.routes) {
    const handler: Middleware = async (ctx) => {
      const actor = await options.authenticate(ctx);
      requireScope(actor, definition.scope);
      if (definition.body && ctx.method !== 'GET' && !ctx.is('application/json')) {
        throw new AppError('request.unsupported_media_type', 'Send a JSON body with Content-Type: application/json.');
      }
      const params = parse(definition.params, ctx.params, 'path');
      const query = parse(definition.query, ctx.query, 'query');
      const body = parse(definition.body, (ctx.request as { body?: unknown }).body ?? {}, 'body');
      const result = await definition.handler({ params, query, body, ctx, deps: options.deps, actor });
      // Configuration changes have no audit event of their own (users, sessions, keys and webhooks do).
      if (definition.method !== 'get' && CONFIGURATION_TAGS.has(definition.tag)) {
        await options.deps.audit.record({
          event: 'admin.changed',
          reason: definition.tag,
          accountId: actor.subject,
          ip: ctx.ip,
          details: { operation: `${definition.method.toUpperCase()} ${definition.path}`, params: params ?? null, actor: actor.subject ? 'admin_api' : `client:${actor.clientId}` },
        });
      }
      ctx.status = definition.status ?? (result === undefined ? 204 : 200);
      if (result !== undefined) ctx.body = result;
    };
    router[definition.method](definition.path, json, handler);
  }
  // Anything else under the prefix is a JSON 404, not a page from the provider.
  router.all('/{*rest}', (ctx) => {
    ctx.status = 404;
    ctx.body = { error: 'not_found', message: `no admin API operation ${ctx.method} ${ctx.path}` };
  });
  return router;
}
