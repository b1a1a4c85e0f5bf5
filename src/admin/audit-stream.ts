import { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import { auditEventView } from '../audit/view.ts';
import { passes, type AuditEventFilter, type AuditFeed } from '../events/audit-feed.ts';

/** A comment this often keeps proxies and load balancers from closing a quiet stream. */
export const HEARTBEAT_MS = 15_000;
// A client that reads slower than events arrive is let go rather than buffered without bound;
// it reconnects with Last-Event-ID and misses nothing.
const MAX_BUFFERED_BYTES = 1024 * 1024;

/**
 * Serves the audit trail as server-sent events (https://html.spec.whatwg.org/multipage/server-sent-events.html):
 * each event as `id:` (its audit id, which an EventSource sends back as Last-Event-ID when it
 * reconnects) and one `data:` line of JSON. Ends when the client goes away, and when the process
 * starts shutting down, so an open stream never holds a graceful shutdown.
 */
export function streamAuditEvents(ctx: Context, feed: AuditFeed, options: { after: string; filter: AuditEventFilter; heartbeatMs?: number }): void {
  const stream = new PassThrough();
  ctx.status = 200;
  ctx.type = 'text/event-stream';
  ctx.set('cache-control', 'no-store');
  // Nginx and some other proxies buffer responses unless told not to.
  ctx.set('x-accel-buffering', 'no');
  // The connection ends with the stream: nothing waits to reuse it when the process stops.
  ctx.set('connection', 'close');
  ctx.body = stream;

  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    follower.close();
    feed.stopping.removeEventListener('abort', end);
    stream.end();
  };
  const write = (text: string) => {
    if (ended) return;
    stream.write(text);
    if (stream.writableLength > MAX_BUFFERED_BYTES) end();
  };
  write(': audit events follow\n\n');
  const follower = feed.follow({
    after: options.after,
    onEvent(event) {
      if (passes(options.filter, event)) write(`id: ${event.id}\ndata: ${JSON.stringify(auditEventView(event))}\n\n`);
    },
  });
  const heartbeat = setInterval(() => write(': heartbeat\n\n'), options.heartbeatMs ?? HEARTBEAT_MS);
  heartbeat.unref();
  // The response's close (not the request's, which fires once the request is read): the client went away.
  ctx.res.once('close', end);
  if (feed.stopping.aborted) end();
  else feed.stopping.addEventListener('abort', end, { once: true });
}
