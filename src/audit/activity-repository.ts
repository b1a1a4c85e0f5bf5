import type { Queryable } from '../db/database.ts';
import { toStoredEvent, type AuditEventName, type AuditRow, type StoredAuditEvent } from './repository.ts';


/**
 * Newest first, at most `limit`: the events recorded for the account, and those recorded for its
 * address with no account named (refused before the password was checked: locked, rate limited)
 * since `emailSince`, leaving out the events in `hidden`. Each side reads its own index
 * (audit_events_account_idx, audit_events_email_idx).
 */
export async function listAccountActivity(db: Queryable, filter: { accountId: string; email: string; emailSince: Date; hidden: readonly AuditEventName[]; limit: number }): Promise<StoredAuditEvent[]> {
  const { rows } = await db.query<AuditRow>(
    `SELECT * FROM audit_events
     WHERE (account_id = $1::uuid OR (account_id IS NULL AND lower(email) = lower($2) AND occurred_at >= $3))
       AND event <> ALL ($4::text[])
     ORDER BY occurred_at DESC, id DESC
     LIMIT $5`,
    [filter.accountId, filter.email, filter.emailSince, [...filter.hidden], filter.limit],
  );
  return rows.map(toStoredEvent);
}
