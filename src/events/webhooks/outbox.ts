import type { Queryable } from '../../db/database.ts';
import type { ConfigCache } from '../../cache/config-cache.ts';
import type { AuditEvent } from '../../audit/repository.ts';
import type { AuditOutbox } from '../../audit/service.ts';
import type { JobQueue, QueueDefinition } from '../queue.ts';
import { matchesEvents } from '../event-types.ts';
import { listEnabledWebhookFilters } from './repository.ts';

/** The durable queue of webhook deliveries (src/events/queue.ts): one job per event and webhook. */
export const WEBHOOK_QUEUE = 'webhook-deliveries';

export interface WebhookJob {
  webhookId: string;
  /** audit_events.id: the worker reads the event when it delivers, so the job holds no personal data. */
  eventId: string;
}

/**
 * Per webhook and account, one delivery at a time in the order the events were recorded (the
 * queue's FIFO per key); events about no account share one key per webhook.
 */
export const deliveryKey = (webhookId: string, accountId: string | null | undefined): string => `${webhookId}:${accountId ?? 'none'}`;

/** A failure report never goes back to the webhook that failed. */
function routedTo(event: AuditEvent, webhookId: string): boolean {
  const subject = event.details?.webhookId;
  if (event.event === 'webhook.delivery_failed') {
    // A failure to deliver a failure report goes nowhere: two failing webhooks would otherwise
    // report each other's failures to each other forever.
    return subject !== webhookId && event.details?.eventType !== 'webhook.delivery_failed';
  }
  return true;
}

/**
 * Decides which webhooks an audit event goes to and queues their deliveries with the event, in
 * its transaction (src/audit/service.ts). Outside a transaction the enabled webhooks come from
 * the configuration cache, dropped on any change to the table (migration 0025), so a sign-in's
 * events cost no query; inside one they are read through it, which also keeps uncommitted rows
 * out of the cache.
 */
export function createWebhookOutbox(options: { db: Queryable; cache: ConfigCache; jobs: JobQueue }): AuditOutbox {
  const { db, cache, jobs } = options;
  return {
    async targets(event, via) {
      // A test is for the webhook it names alone, whatever its filter says and even while disabled.
      if (event.event === 'webhook.test') return typeof event.details?.webhookId === 'string' ? [event.details.webhookId] : [];
      const webhooks = via ? await listEnabledWebhookFilters(via) : await cache.get('webhooks:enabled', () => listEnabledWebhookFilters(db));
      return webhooks.filter((webhook) => matchesEvents(webhook.events, event.event) && routedTo(event, webhook.id)).map((webhook) => webhook.id);
    },
    async enqueue(event, targets, tx) {
      for (const webhookId of targets) {
        await jobs.send<WebhookJob>(WEBHOOK_QUEUE, { webhookId, eventId: event.id }, { key: deliveryKey(webhookId, event.accountId), tx });
      }
    },
  };
}

/** The delivery queue's settings from the configuration (webhooks.*). */
export function webhookQueueDefinition(settings: { retryLimit: number; retryDelaySeconds: number; retryDelayMaxSeconds: number }, outboundTimeoutMs: number): QueueDefinition {
  return {
    retryLimit: settings.retryLimit,
    retryDelaySeconds: settings.retryDelaySeconds,
    retryDelayMaxSeconds: settings.retryDelayMaxSeconds,
    // One attempt is one POST under the outbound deadline; the lease only matters when an
    // instance dies mid-attempt (another takes the job once it ends).
    attemptSeconds: Math.max(30, Math.ceil(outboundTimeoutMs / 1000) * 4),
    ordered: true,
  };
}
