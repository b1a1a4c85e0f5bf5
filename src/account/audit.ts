import type { Context } from 'koa';
import type { AuditEventName } from '../audit/repository.ts';
import type { AccountConsoleDeps } from './deps.ts';
import { visitOf } from './guard.ts';

/** A change someone made to their own factors, with who (account, address, browser) made it. */
export function recordChange(ctx: Context, deps: AccountConsoleDeps, event: AuditEventName, details: Record<string, unknown>): Promise<void> {
  const { account } = visitOf(ctx);
  return deps.audit.record({
    event,
    reason: 'account_console',
    accountId: account.id,
    email: account.email,
    ip: ctx.ip,
    userAgent: ctx.get('user-agent') || null,
    details,
  });
}
