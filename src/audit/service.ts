import type { Database, Queryable } from '../db/database.ts';
import type { Logger } from '../log.ts';
import { insertAuditEvent, listAuditEvents, type AuditEvent, type StoredAuditEvent } from './repository.ts';

export type AuditLog = ReturnType<typeof createAuditLog>;

/**
 * Where recorded events go besides the table: webhook deliveries (src/events/webhooks/outbox.ts),
 * queued in the same transaction as the event, so a rolled-back change sends nothing.
 */
export interface AuditOutbox {
  /** The webhooks an event goes to: read through `via` inside a transaction, else from what the outbox remembers. */
  targets(event: AuditEvent, via: Queryable | null): Promise<string[]>;
  enqueue(event: AuditEvent & { id: string }, targets: string[], tx: Queryable): Promise<void>;
}

/**
 * The security audit trail. Events that go with a change are written through the change's own
 * transaction (`record(event, tx)`), so a rolled-back change leaves no event and a committed one
 * always has its event. Each event is also logged, for log pipelines. `outbox()`: the outbox once
 * it is built (deps.ts makes it after the audit log); events before that go nowhere else.
 */
export function createAuditLog(db: Database, logger: Logger, options: { outbox?: () => AuditOutbox | null } = {}) {
  /** record(), resolving with the event's id. */
  async function append(event: AuditEvent, tx: Queryable = db): Promise<string> {
    const outbox = options.outbox?.() ?? null;
    let id: string;
    if (!outbox) {
      ({ id } = await insertAuditEvent(tx, event));
    } else if (tx !== db) {
      ({ id } = await insertAuditEvent(tx, event));
      const targets = await outbox.targets(event, tx);
      if (targets.length) await outbox.enqueue({ ...event, id }, targets, tx);
    } else {
      // On its own: the event and its deliveries still commit together, or not at all.
      const targets = await outbox.targets(event, null);
      id = targets.length
        ? await db.transaction(async (own) => {
          const inserted = await insertAuditEvent(own, event);
          await outbox.enqueue({ ...event, id: inserted.id }, targets, own);
          return inserted.id;
        })
        : (await insertAuditEvent(db, event)).id;
    }
    logger.info({ audit: event.event, reason: event.reason, accountId: event.accountId, ip: event.ip }, 'audit event');
    return id;
  }
  return {
    append,
    async record(event: AuditEvent, tx: Queryable = db): Promise<void> {
      await append(event, tx);
    },
    list(filter: { email?: string | undefined; since?: Date | undefined; limit?: number | undefined }): Promise<StoredAuditEvent[]> {
      return listAuditEvents(db, { email: filter.email, since: filter.since, limit: filter.limit ?? 100 });
    },
  };
}
