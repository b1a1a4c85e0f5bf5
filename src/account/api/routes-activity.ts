import { z } from 'zod';
import type { Context } from 'koa';
import { accountRoute, type AccountApiRoute } from './route.ts';
import type { AccountCaller } from './auth.ts';
import { AppError } from '../../errors.ts';

/*
 * The account API's operations on profile changes, sessions, connected apps, linked accounts,
 * activity and the data export: each calls the service the console's pages call, with the
 * reason `account_api` in the audit log. Changes that the pages guard with a fresh sign-in
 * (email, password, factors, linking, deleting the account) are the pages' only: an access
 * token says nothing of how recently the person signed in.
 */

const iso = (date: Date | null | undefined): string | null => date?.toISOString() ?? null;
const actor = (ctx: Context, caller: AccountCaller) => ({ email: caller.account.email, ip: ctx.ip, userAgent: ctx.get('user-agent') || null, via: 'account_api' as const });
const text = z.string().max(2048);

const sessionSchema = z.object({
  uid: z.string(), signedInAt: z.string().nullable(), firstUsedAt: z.string().nullable(), lastUsedAt: z.string().nullable(), expiresAt: z.string().nullable(),
  ip: z.string().nullable(), userAgent: z.string().nullable(), clients: z.array(z.string()),
}).meta({ id: 'DeviceSession' });

const appSchema = z.object({
  clientId: z.string(), name: z.string(), scopes: z.array(z.string()),
  resources: z.array(z.object({ indicator: z.string(), name: z.string().nullable(), scopes: z.array(z.string()) })),
  grantedAt: z.string().nullable(), lastUsedAt: z.string().nullable(), remembered: z.boolean(),
}).meta({ id: 'ConnectedApp' });

export const activityRoutes: AccountApiRoute[] = [
  accountRoute({
    method: 'patch', path: '/profile', tag: 'profile', scope: 'account:write', summary: 'Change your name, picture or language (the next ID token and userinfo show it)',
    body: z.strictObject({ name: text.optional(), givenName: text.optional(), familyName: text.optional(), picture: text.optional(), locale: text.optional() }),
    response: z.object({ changed: z.array(z.string()) }),
    handler: async ({ body, ctx, deps, caller }) => {
      const result = await deps.settings.profile.update(caller.account.id, body, { ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined, via: 'account_api' });
      if (!result.ok) throw new AppError('request.invalid', result.problems.map((problem) => `body.${problem.field}: ${problem.code.replace(/_/g, ' ')}${problem.max ? ` (at most ${problem.max})` : ''}`).join('; '));
      return { changed: result.changed };
    },
  }),
  accountRoute({
    method: 'get', path: '/activity', tag: 'security', scope: 'account:read', summary: 'Your recent security events (sign-ins, failures, changes), newest first',
    response: z.object({ events: z.array(z.object({ event: z.string(), reason: z.string().nullable(), occurredAt: z.string(), ip: z.string().nullable(), userAgent: z.string().nullable() })) }),
    handler: async ({ deps, caller }) => ({
      events: (await deps.accountActivity.recent(caller.account, 50)).map((event) => ({ event: event.event, reason: event.reason, occurredAt: event.occurredAt.toISOString(), ip: event.ip, userAgent: event.userAgent })),
    }),
  }),
  accountRoute({
    method: 'get', path: '/sessions', tag: 'sessions', scope: 'account:read', summary: 'Where you are signed in',
    response: z.object({ sessions: z.array(sessionSchema) }),
    handler: async ({ deps, caller }) => ({
      sessions: (await deps.deviceSessions.list(caller.account.id, null)).map((session) => ({
        uid: session.uid, signedInAt: iso(session.signedInAt), firstUsedAt: iso(session.firstUsedAt), lastUsedAt: iso(session.lastUsedAt), expiresAt: iso(session.expiresAt),
        ip: session.ip, userAgent: session.userAgent, clients: session.clients,
      })),
    }),
  }),
  accountRoute({
    method: 'delete', path: '/sessions/:uid', tag: 'sessions', scope: 'account:write', summary: 'Sign out one session (and the applications signed in through it)',
    params: z.object({ uid: z.string().min(1).max(200) }),
    handler: async ({ params, ctx, deps, caller }) => {
      await deps.deviceSessions.end(caller.account.id, params.uid, null, actor(ctx, caller));
    },
  }),
  accountRoute({
    method: 'get', path: '/apps', tag: 'apps', scope: 'account:read', summary: 'The applications you have allowed, with what they may see and do',
    response: z.object({ apps: z.array(appSchema) }),
    handler: async ({ deps, caller }) => ({
      apps: (await deps.connectedApps.list(caller.account.id)).map((app) => ({
        clientId: app.clientId, name: app.client.name, scopes: app.scopes, resources: app.resources, grantedAt: iso(app.grantedAt), lastUsedAt: iso(app.lastUsedAt), remembered: app.remembered,
      })),
    }),
  }),
  accountRoute({
    method: 'delete', path: '/apps/:clientId', tag: 'apps', scope: 'account:write', summary: 'Remove an application: its grants, refresh tokens and remembered consent',
    params: z.object({ clientId: z.string().min(1).max(200) }),
    handler: async ({ params, ctx, deps, caller }) => {
      await deps.connectedApps.withdrawApp(caller.account.id, params.clientId, actor(ctx, caller));
    },
  }),
  accountRoute({
    method: 'post', path: '/apps/:clientId/withdrawals', tag: 'apps', scope: 'account:write', summary: 'Withdraw one scope from an application (its next token lacks it)',
    params: z.object({ clientId: z.string().min(1).max(200) }),
    body: z.strictObject({ scope: z.string().min(1).max(200), resource: z.string().max(2000).nullable().default(null) }),
    handler: async ({ params, body, ctx, deps, caller }) => {
      await deps.connectedApps.withdrawScope(caller.account.id, params.clientId, { scope: body.scope, resource: body.resource }, actor(ctx, caller));
    },
  }),
  accountRoute({
    method: 'get', path: '/linked', tag: 'linked', scope: 'account:read', summary: 'The Google, GitHub and OIDC accounts linked to yours',
    response: z.object({ identities: z.array(z.object({ upstreamId: z.string(), email: z.string().nullable(), linkedAt: z.string(), lastUsedAt: z.string(), signsIn: z.boolean() })) }),
    handler: async ({ deps, caller }) => ({
      identities: (await deps.accountLinks.list(caller.account.id)).map((identity) => ({
        upstreamId: identity.upstreamId, email: identity.email, linkedAt: identity.createdAt.toISOString(), lastUsedAt: identity.lastUsedAt.toISOString(), signsIn: identity.signsIn,
      })),
    }),
  }),
  accountRoute({
    method: 'get', path: '/data', tag: 'data', scope: 'account:read', summary: 'Everything held about your account (no secrets or hashes), as the console\'s download gives it',
    response: z.record(z.string(), z.unknown()),
    handler: async ({ ctx, deps, caller }) => deps.accountExport.exportAccount(caller.account, { via: 'account_api', ip: ctx.ip, userAgent: ctx.get('user-agent') || null }) as Promise<Record<string, unknown>>,
  }),
];
