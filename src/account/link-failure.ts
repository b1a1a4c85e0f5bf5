import type { Context } from 'koa';
import { errorCodes } from '../error-codes.ts';
import type { UpstreamFailure } from '../federation/upstream.ts';
import type { LinkRefusal } from '../federation/account-links.ts';
import type { AccountConsoleDeps } from './deps.ts';
import { visitOf } from './guard.ts';
import { renderLinked } from './linked-page.ts';
import { noteForLog } from '../http/request-context.ts';

/** A link that did not happen: the upstream's failure, our rule's refusal, or an attempt that is not this browser's. */
export type LinkFailure = UpstreamFailure | LinkRefusal | 'expired';

const statusOf = (reason: LinkFailure): number => {
  if (reason === 'linked_elsewhere' || reason === 'upstream_taken') return 409;
  if (reason === 'expired') return 400;
  return errorCodes[`federation.${reason}`].status;
};

/**
 * Answers with the linked-accounts page saying why, in the console's words (the sign-in's pages
 * speak of signing in, this is linking), with the status the error table gives the same failure.
 */
export async function renderLinkFailure(ctx: Context, deps: AccountConsoleDeps, upstream: { id: string; displayName: string }, reason: LinkFailure, detail?: string): Promise<void> {
  noteForLog(ctx, { error: `link.${reason}`, errorDescription: detail?.slice(0, 200) });
  deps.logger.warn({ event: 'federation.link_failed', reason, upstream: upstream.id, accountId: visitOf(ctx).account.id, detail, id: ctx.state.requestId }, 'linking an upstream account from the console failed');
  await renderLinked(ctx, deps, { status: statusOf(reason), text: deps.pages.t(ctx)(`account.linked.failed.${reason}`, { name: upstream.displayName }) });
}
