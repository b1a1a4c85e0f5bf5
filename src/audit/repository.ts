import type { Queryable } from '../db/database.ts';

/** Security events; see migrations/0011_audit_events.sql for what each column holds. */
export type AuditEventName =
  | 'login.succeeded'
  | 'login.failed'
  | 'account.locked'
  | 'account.registered'
  | 'account.registration_attempted'
  | 'email.verification_sent'
  | 'email.verified'
  | 'password_reset.requested'
  | 'password_reset.completed'
  | 'password.changed'
  | 'account.disabled'
  | 'account.enabled'
  | 'account.deleted'
  // A person downloaded their data (src/account-data/export.ts).
  | 'account.exported'
  | 'token.replay_detected'
  | 'federation.signed_in'
  | 'federation.account_created'
  | 'federation.linked'
  | 'federation.unlinked'
  | 'federation.refused'
  | 'federation.failed'
  | 'mfa.required'
  | 'mfa.succeeded'
  | 'mfa.failed'
  | 'mfa.reset'
  // The account console (src/account): a factor added, removed or renamed, new recovery codes.
  | 'mfa.enrolled'
  | 'mfa.removed'
  | 'mfa.renamed'
  | 'mfa.recovery_codes_generated'
  // A person's own profile, sign-in address and password (src/accounts/settings.ts).
  | 'profile.updated'
  | 'email.change_requested'
  | 'email.change_attempted'
  | 'email.changed'
  // The account console's sessions and connected apps (src/sessions, src/connected-apps).
  | 'session.revoked'
  | 'grant.scope_withdrawn'
  | 'grant.revoked'
  // The signing keys' lifecycle (src/oidc/keys/service.ts): a next key published, one that
  // starts signing, one that stops, one no longer published.
  | 'key.rotated'
  | 'key.activated'
  | 'key.retired'
  | 'key.removed'
  // Webhooks (src/events/webhooks): an operator's changes, a test delivery asked for, and a
  // delivery given up after its last retry.
  | 'webhook.created'
  | 'webhook.updated'
  | 'webhook.deleted'
  | 'webhook.secret_rotated'
  | 'webhook.test'
  | 'webhook.delivery_failed'
  // Back-channel logout (src/events/backchannel-logout.ts): a logout token a relying party
  // accepted, and one it never did (the last retry failed, or the address is refused).
  // A change to clients, roles, permissions or API resources, by the admin API or the CLI
  // (src/admin/router.ts, src/cli/context.ts): which operation, by whom; never the values sent.
  | 'admin.changed'
  | 'logout.backchannel_delivered'
  | 'logout.backchannel_failed';

export interface AuditEvent {
  event: AuditEventName;
  reason?: string | null | undefined;
  accountId?: string | null | undefined;
  email?: string | null | undefined;
  ip?: string | null | undefined;
  userAgent?: string | null | undefined;
  details?: Record<string, unknown> | null | undefined;
}

export interface StoredAuditEvent extends Required<{ [K in keyof AuditEvent]: Exclude<AuditEvent[K], undefined> }> {
  id: string;
  occurredAt: Date;
}

export interface AuditRow {
  id: string;
  occurred_at: Date;
  event: AuditEventName;
  reason: string | null;
  account_id: string | null;
  email: string | null;
  ip: string | null;
  user_agent: string | null;
  details: Record<string, unknown> | null;
}

/** Inserts one event; pass the transaction's client to record it with the change it describes. */
export async function insertAuditEvent(db: Queryable, event: AuditEvent): Promise<{ id: string; occurredAt: Date }> {
  const { rows } = await db.query<{ id: string; occurred_at: Date }>(
    `INSERT INTO audit_events (event, reason, account_id, email, ip, user_agent, details)
     VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb) RETURNING id, occurred_at`,
    [
      event.event,
      event.reason ?? null,
      event.accountId ?? null,
      event.email ?? null,
      event.ip ?? null,
      // A user agent is whatever the client sends; keep a bounded amount of it.
      event.userAgent?.slice(0, 512) ?? null,
      event.details ? JSON.stringify(event.details) : null,
    ],
  );
  return { id: String(rows[0]!.id), occurredAt: rows[0]!.occurred_at };
}

/** Newest first: the events for an email (or an account that has it now), since a time. */
export async function listAuditEvents(db: Queryable, filter: { email?: string | undefined; accountId?: string | undefined; since?: Date | undefined; limit: number }): Promise<StoredAuditEvent[]> {
  const conditions: string[] = [];
  const values: unknown[] = [];
  if (filter.email !== undefined || filter.accountId !== undefined) {
    const parts: string[] = [];
    if (filter.email !== undefined) {
      values.push(filter.email);
      parts.push(`lower(email) = lower($${values.length})`);
    }
    if (filter.accountId !== undefined) {
      values.push(filter.accountId);
      parts.push(`account_id = $${values.length}::uuid`);
    }
    conditions.push(`(${parts.join(' OR ')})`);
  }
  if (filter.since) {
    values.push(filter.since);
    conditions.push(`occurred_at >= $${values.length}`);
  }
  values.push(filter.limit);
  const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
  const { rows } = await db.query<AuditRow>(`SELECT * FROM audit_events ${where} ORDER BY occurred_at DESC, id DESC LIMIT $${values.length}`, values);
  return rows.map(toStoredEvent);
}

/** A row of audit_events as the services see it. */
export const toStoredEvent = (row: AuditRow): StoredAuditEvent => ({
  id: String(row.id),
  occurredAt: row.occurred_at,
  event: row.event,
  reason: row.reason,
  accountId: row.account_id,
  email: row.email,
  ip: row.ip,
  userAgent: row.user_agent,
  details: row.details,
});
