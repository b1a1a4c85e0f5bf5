import type { Queryable } from '../db/database.ts';

/** A consent the account gave a client, as kept to skip the consent page next time. */
export interface StoredConsent {
  clientId: string;
  scopes: string[];
  claims: string[];
  resourceScopes: Record<string, string[]>;
  createdAt: Date;
  updatedAt: Date;
}

/** One row of audit_events about the account (migrations/0011_audit_events.sql). */
export interface AccountAuditRow {
  occurredAt: Date;
  event: string;
  reason: string | null;
  email: string | null;
  ip: string | null;
  userAgent: string | null;
  details: Record<string, unknown> | null;
}

export async function listConsentsOf(db: Queryable, accountId: string): Promise<StoredConsent[]> {
  const { rows } = await db.query<{ client_id: string; scopes: string[]; claims: string[]; resource_scopes: Record<string, string[]>; created_at: Date; updated_at: Date }>(
    'SELECT client_id, scopes, claims, resource_scopes, created_at, updated_at FROM consents WHERE account_id = $1 ORDER BY client_id',
    [accountId],
  );
  return rows.map((row) => ({ clientId: row.client_id, scopes: row.scopes, claims: row.claims, resourceScopes: row.resource_scopes, createdAt: row.created_at, updatedAt: row.updated_at }));
}

/** Every audit event recorded with the account's id, oldest first (through audit_events_account_idx). */
export async function listAuditEventsOfAccount(db: Queryable, accountId: string): Promise<AccountAuditRow[]> {
  const { rows } = await db.query<{ occurred_at: Date; event: string; reason: string | null; email: string | null; ip: string | null; user_agent: string | null; details: Record<string, unknown> | null }>(
    'SELECT occurred_at, event, reason, email, ip, user_agent, details FROM audit_events WHERE account_id = $1 ORDER BY occurred_at, id',
    [accountId],
  );
  return rows.map((row) => ({ occurredAt: row.occurred_at, event: row.event, reason: row.reason, email: row.email, ip: row.ip, userAgent: row.user_agent, details: row.details }));
}
