import type { StoredAuditEvent } from './repository.ts';

/** An audit event as JSON shows it (the CLI, the live stream, webhook deliveries): every column, the id as a string, the time as ISO. */
export interface AuditEventView {
  id: string;
  occurredAt: string;
  event: string;
  reason: string | null;
  accountId: string | null;
  email: string | null;
  ip: string | null;
  userAgent: string | null;
  details: Record<string, unknown> | null;
}

export const auditEventView = (event: StoredAuditEvent): AuditEventView => ({
  id: String(event.id),
  occurredAt: event.occurredAt.toISOString(),
  event: event.event,
  reason: event.reason,
  accountId: event.accountId,
  email: event.email,
  ip: event.ip,
  userAgent: event.userAgent,
  details: event.details,
});
