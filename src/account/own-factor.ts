import type { Context } from 'koa';
import { AppError } from '../errors.ts';
import type { FactorView } from '../mfa/service.ts';
import { isUuid } from '../mfa/user-handle.ts';
import type { AccountConsoleDeps } from './deps.ts';
import { visitOf } from './guard.ts';

/**
 * The confirmed factor `:id` of the signed-in account, and whether it is the account's last
 * one; another account's factor, or an id that is none, is simply not found.
 */
export async function ownFactor(ctx: Context, deps: AccountConsoleDeps, kind?: FactorView['kind']): Promise<{ factor: FactorView; last: boolean }> {
  const id = ctx.params.id;
  const factors = isUuid(id) ? (await deps.mfa.listFactors(visitOf(ctx).account.id)).filter((factor) => factor.confirmed) : [];
  const factor = factors.find((candidate) => candidate.id === id && (!kind || candidate.kind === kind));
  if (!factor) throw new AppError('not_found', 'this account has no such factor');
  return { factor, last: factors.length === 1 };
}
