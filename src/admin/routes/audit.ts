import { z } from 'zod';
import { route, type AdminRoute } from '../route.ts';
import { AppError } from '../../errors.ts';
import { eventPatternProblem } from '../../events/event-types.ts';
import { streamAuditEvents } from '../audit-stream.ts';

const eventList = z.string().max(2000).transform((value, ctx) => {
  const patterns = value.split(',').map((part) => part.trim()).filter(Boolean);
  for (const pattern of patterns) {
    const problem = eventPatternProblem(pattern);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }
  return patterns;
}).meta({ description: 'comma-separated event names and prefixes (login.*); default: every event' });

export const auditRoutes: AdminRoute[] = [
  route({
    method: 'get', path: '/audit/stream', tag: 'audit', scope: 'admin:read',
    summary: 'Live audit events as server-sent events (text/event-stream): each as `id:` (its id) and one `data:` line of JSON; after Last-Event-ID when the header is sent (an EventSource reconnecting), else from now; a comment every 15 s keeps it open',
    query: z.object({ events: eventList.optional(), email: z.email().max(320).optional().meta({ description: 'only events about this address, or about the account that has it' }) }),
    status: 200, responseType: 'text/event-stream',
    async handler({ query, ctx, deps }) {
      const lastEventId = ctx.get('last-event-id');
      if (lastEventId && !/^\d{1,18}$/.test(lastEventId)) throw new AppError('request.invalid', 'header Last-Event-ID: must be the id of an event from this stream');
      const account = query.email ? await deps.accounts.findByEmail(query.email) : null;
      const after = lastEventId || await deps.auditFeed.latestId();
      streamAuditEvents(ctx, deps.auditFeed, { after, filter: { events: query.events ?? [], email: query.email, accountId: account?.id ?? null } });
      return undefined;
    },
  }),
];
