import { Webhook } from 'standardwebhooks';
import type { Database } from '../../db/database.ts';
import type { AuditLog } from '../../audit/service.ts';
import type { StoredAuditEvent } from '../../audit/repository.ts';
import { findAuditEventsByIds } from '../../audit/feed-repository.ts';
import { auditEventView } from '../../audit/view.ts';
import type { Clock } from '../../clock.ts';
import type { Logger } from '../../log.ts';
import type { OutboundFetch } from '../../http/outbound.ts';
import type { JobHandler } from '../queue.ts';
import type { WebhookJob } from './outbox.ts';
import { findWebhookById } from './repository.ts';
import type { WebhookService } from './service.ts';

/** How an attempt ended, as idp_webhook_deliveries_total{result} counts it. */
export type DeliveryResult = 'delivered' | 'retry' | 'failed' | 'skipped';

/**
 * The body of a delivery: `type` and `timestamp` as Standard Webhooks suggests, and the audit
 * event as `data`, with the same fields `idp audit list --json` shows. An audit event holds no
 * secrets: no passwords, codes or tokens are ever recorded in it.
 */
export function deliveryBody(event: StoredAuditEvent): string {
  return JSON.stringify({ type: event.event, timestamp: event.occurredAt.toISOString(), data: auditEventView(event) });
}

/** webhook-id: the event's own id, the same on every attempt, so a receiver can drop repeats. */
export const deliveryId = (eventId: string): string => `evt_${eventId}`;

class DeliveryError extends Error {
  override name = 'DeliveryError';
}

export interface WebhookDeliveryOptions {
  db: Database;
  webhooks: Pick<WebhookService, 'signingSecrets'>;
  audit: AuditLog;
  fetch: OutboundFetch;
  logger: Logger;
  clock: Clock;
  count?: ((result: DeliveryResult) => void) | undefined;
}

/**
 * Works one job of the delivery queue: signs the event (https://www.standardwebhooks.com/: the
 * webhook-id, webhook-timestamp and webhook-signature headers, signed at each attempt so the
 * timestamp is fresh) and POSTs it. A 2xx answer delivers it; anything else throws, and the queue
 * retries with growing delays. After the last attempt the failure is recorded as a
 * webhook.delivery_failed audit event and the job ends normally, so the events behind it for the
 * same account are delivered next instead of waiting forever.
 */
export function createWebhookDelivery(options: WebhookDeliveryOptions): JobHandler<WebhookJob> {
  const { db, webhooks, audit, fetch, logger, clock } = options;
  const count = options.count ?? (() => undefined);

  return async (job, { attempt, last, signal }) => {
    const webhook = await findWebhookById(db, job.webhookId);
    const [event] = await findAuditEventsByIds(db, [job.eventId]);
    // Deleted since, or disabled (a test is delivered anyway: it was asked for by name).
    if (!webhook || !event || (!webhook.enabled && event.event !== 'webhook.test')) {
      count('skipped');
      logger.info({ webhookId: job.webhookId, eventId: job.eventId, reason: !webhook ? 'webhook deleted' : !event ? 'event gone' : 'webhook disabled' }, 'webhook delivery skipped');
      return;
    }
    const body = deliveryBody(event);
    const id = deliveryId(event.id);
    const now = new Date(clock.now());
    // Several signatures, space-separated, while a rotated secret still signs (the library tries each).
    const signature = webhooks.signingSecrets(webhook).map((secret) => new Webhook(secret).sign(id, now, body)).join(' ');
    const where = { webhookId: webhook.id, host: new URL(webhook.url).host, eventId: event.id, type: event.event, attempt: attempt + 1 };
    try {
      const response = await fetch(webhook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'idp-webhooks',
          'webhook-id': id,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': signature,
        },
        body,
        // A redirect is an answer that is not 2xx; following it could lead anywhere.
        redirect: 'manual',
        signal,
      });
      if (response.status < 200 || response.status > 299) throw new DeliveryError(`answered ${response.status}`);
    } catch (error) {
      const reason = reasonOf(error);
      if (!last) {
        count('retry');
        logger.warn({ ...where, reason }, 'webhook delivery failed; it will be retried');
        throw error;
      }
      count('failed');
      logger.error({ ...where, reason }, 'webhook delivery failed for the last time; giving up');
      // Ending normally even if this cannot be recorded: a job that ends failed would hold back
      // every later event of its key for good.
      await audit.record({
        event: 'webhook.delivery_failed', reason,
        accountId: event.accountId,
        details: { webhookId: webhook.id, host: where.host, eventId: event.id, eventType: event.event, attempts: attempt + 1 },
      }).catch((recordError: unknown) => logger.error({ ...where, err: recordError }, 'webhook.delivery_failed could not be recorded'));
      return;
    }
    count('delivered');
    logger.info(where, 'webhook delivered');
  };
}

/** The innermost reason of a failed fetch ("fetch failed" wraps it). */
function reasonOf(error: unknown): string {
  let current = error as { cause?: unknown; name?: string; message?: string } | undefined;
  while (current?.cause) current = current.cause as typeof current;
  if (current?.name === 'TimeoutError' || current?.name === 'AbortError') return 'timed out';
  return (current?.message ?? String(error)).slice(0, 200);
}
