import type { Context } from 'koa';
import type { SelfChange } from '../federation/account-links.ts';
import { visitOf } from './guard.ts';

/** The signed-in account (as the audit trail names it) and who changes it: this browser, through the console. */
export function selfChange(ctx: Context): { account: { id: string; email: string }; change: SelfChange } {
  const { account } = visitOf(ctx);
  return { account: { id: account.id, email: account.email }, change: { via: 'account_console', ip: ctx.ip, userAgent: ctx.get('user-agent') || null } };
}
