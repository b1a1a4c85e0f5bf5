import type { Queryable } from '../db/database.ts';
import { toStoredEvent, type AuditRow, type StoredAuditEvent } from './repository.ts';

/** Events with an id above `afterId`, oldest first: what a follower of the trail has not seen. */
export async function listAuditEventsAfter(db: Queryable, afterId: string, limit: number): Promise<StoredAuditEvent[]> {
  const { rows } = await db.query<AuditRow>('SELECT * FROM audit_events WHERE id > $1 ORDER BY id LIMIT $2', [afterId, limit]);
  return rows.map(toStoredEvent);
}

/** The events with these ids that exist (committed) by now, oldest first. */
export async function findAuditEventsByIds(db: Queryable, ids: string[]): Promise<StoredAuditEvent[]> {
  if (!ids.length) return [];
  const { rows } = await db.query<AuditRow>('SELECT * FROM audit_events WHERE id = ANY($1::bigint[]) ORDER BY id', [ids]);
  return rows.map(toStoredEvent);
}

/** The newest event's id, or '0' for an empty trail: where a follower starting now begins. */
export async function latestAuditEventId(db: Queryable): Promise<string> {
  const { rows } = await db.query<{ id: string | null }>('SELECT max(id) AS id FROM audit_events');
  return rows[0]?.id == null ? '0' : String(rows[0].id);
}
