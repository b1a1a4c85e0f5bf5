import type { Context } from 'koa';
import type { Actor } from '../sessions/service.ts';
import { visitOf } from './guard.ts';

/** The signed-in person making a change from the console, for the audit trail (as recordChange does). */
export function actorOf(ctx: Context): Actor {
  return { email: visitOf(ctx).account.email, ip: ctx.ip || null, userAgent: ctx.get('user-agent') || null, via: 'account_console' };
}
