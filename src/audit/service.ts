import type { Database, Queryable } from '../db/database.ts';
import type { Logger } from '../log.ts';
import { insertAuditEvent, listAuditEvents, type AuditEvent, type StoredAuditEvent } from './repository.ts';

export type AuditLog = ReturnType<typeof createAuditLog>;

/**
 * The security audit trail. Events that go with a change are written through the change's own
 * transaction (`record(event, tx)`), so a rolled-back change leaves no event and a committed one
 * always has its event. Each event is also logged, for log pipelines.
 */
export function createAuditLog(db: Database, logger: Logger) {
  return {
    async record(event: AuditEvent, tx: Queryable = db): Promise<void> {
      await insertAuditEvent(tx, event);
      logger.info({ audit: event.event, reason: event.reason, accountId: event.accountId, ip: event.ip }, 'audit event');
    },
    list(filter: { email?: string | undefined; since?: Date | undefined; limit?: number | undefined }): Promise<StoredAuditEvent[]> {
      return listAuditEvents(db, { email: filter.email, since: filter.since, limit: filter.limit ?? 100 });
    },
  };
}
