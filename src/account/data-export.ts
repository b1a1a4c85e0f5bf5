import type { Middleware } from 'koa';
import { AppError } from '../errors.ts';
import type { AccountConsoleDeps } from './deps.ts';
import { selfChange } from './self-change.ts';

/**
 * GET /account/data/export: everything held about the account as one JSON file, downloaded
 * (Content-Disposition: attachment, RFC 6266) rather than shown, never cached on the way
 * (it is personal data), and not to be sniffed into anything else.
 */
export function downloadData(deps: AccountConsoleDeps): Middleware {
  return async (ctx) => {
    const { account, change } = selfChange(ctx);
    const data = await deps.accountExport.exportAccount(account, change);
    if (!data) throw new AppError('account.not_found', 'the account is gone');
    const day = data.exportedAt.slice(0, 10);
    ctx.status = 200;
    ctx.type = 'application/json; charset=utf-8';
    ctx.set('content-disposition', `attachment; filename="account-data-${day}.json"`);
    ctx.set('cache-control', 'no-store');
    ctx.set('x-content-type-options', 'nosniff');
    ctx.body = `${JSON.stringify(data, null, 2)}\n`;
  };
}
