import { z } from 'zod';
import type { Context } from 'koa';
import { accountRoute, type AccountApiRoute } from './route.ts';
import type { AccountCaller } from './auth.ts';
import { AppError } from '../../errors.ts';

/*
 * The account API's sensitive changes: the same services as the console's pages, behind the same
 * rule, a recent sign-in (`fresh`: the token's auth_time, RFC 9470 step-up). An application that
 * is told `insufficient_user_authentication` sends the person through /auth with max_age and
 * tries again with the new token.
 */

const change = (ctx: Context) => ({ ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined, via: 'account_api' as const });
const self = (ctx: Context) => ({ via: 'account_api', ip: ctx.ip, userAgent: ctx.get('user-agent') || null });
const ref = (caller: AccountCaller) => ({ id: caller.account.id, email: caller.account.email });

export const sensitiveRoutes: AccountApiRoute[] = [
  accountRoute({
    method: 'post', path: '/password', tag: 'password', scope: 'account:write', fresh: true,
    summary: 'Change your password (with the current one), or set a first one; optionally sign out every session',
    body: z.strictObject({ current: z.string().max(256).optional(), password: z.string().min(1).max(256), signOutEverywhere: z.boolean().default(false) }),
    response: z.object({ set: z.boolean() }),
    handler: async ({ body, ctx, deps, caller }) => {
      // No session of the caller's is "this one" for an API: signing out everywhere means every session.
      const result = await deps.settings.password.change(caller.account.id, { current: body.current, password: body.password, signOutOthers: body.signOutEverywhere, keepSessionUid: null }, change(ctx));
      if (!result.ok) throw new AppError('request.invalid', `body.${result.field}: ${result.code.replace(/[._]/g, ' ')}`);
      return { set: result.set };
    },
  }),
  accountRoute({
    method: 'post', path: '/email', tag: 'profile', scope: 'account:write', fresh: true,
    summary: 'Ask to change your email: a link goes to the new address, which replaces the old one once opened',
    body: z.strictObject({ email: z.string().min(1).max(320) }),
    status: 202,
    response: z.object({ sentTo: z.string() }),
    handler: async ({ body, ctx, deps, caller }) => {
      const result = await deps.settings.email.request(caller.account.id, body.email, change(ctx));
      if (!result.ok) throw new AppError('request.invalid', `body.email: ${result.code}`);
      // The same answer whether or not the address is taken (no enumeration).
      return { sentTo: result.email };
    },
  }),
  accountRoute({
    method: 'delete', path: '/linked/:upstream', tag: 'linked', scope: 'account:write', fresh: true,
    summary: 'Unlink an upstream account (refused when it is the last way to sign in)',
    params: z.object({ upstream: z.string().min(1).max(100) }),
    handler: async ({ params, ctx, deps, caller }) => {
      const outcome = await deps.accountLinks.unlink(ref(caller), params.upstream, self(ctx));
      if (outcome === 'not_found') throw new AppError('identity.not_found', `no linked account at ${params.upstream}`);
      if (outcome === 'last_way') throw new AppError('account.last_sign_in_way', 'it is the last way to sign in to this account: set a password or link another account first');
    },
  }),
  accountRoute({
    // A POST: the confirmation travels in a body, which DELETE requests do not reliably carry.
    method: 'post', path: '/deletion', tag: 'data', scope: 'account:write', fresh: true, status: 204,
    summary: 'Delete your account: every session and token ends. Confirm with your email address',
    body: z.strictObject({ confirm: z.string().max(320) }),
    handler: async ({ body, deps, caller }) => {
      const outcome = await deps.accountDeletion.deleteOwnAccount(ref(caller), body.confirm);
      if (outcome === 'not_confirmed') throw new AppError('request.invalid', 'body.confirm: type the account\'s email address to confirm');
    },
  }),
];
