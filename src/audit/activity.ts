import type { Database } from '../db/database.ts';
import type { AuditEventName, StoredAuditEvent } from './repository.ts';
import { listAccountActivity } from './activity-repository.ts';

export type AccountActivity = ReturnType<typeof createAccountActivity>;

/** How many events a person is shown at most, whatever a caller asks for. */
export const MAX_ACTIVITY = 50;

/**
 * Steps inside one sign-in that the sign-in's own event already tells: a second factor asked for,
 * then accepted, is followed by `login.succeeded` naming the factor. A wrong code stays shown.
 */
const STEPS: readonly AuditEventName[] = ['mfa.required', 'mfa.succeeded'];

/**
 * What a person sees of the audit log: their own recent security events (sign-ins, failures,
 * changes), newest first. Attempts refused before their password was even checked (a locked
 * account, too many tries) name only the address; those count as theirs from when the account
 * was created, not from before (the address may have been someone else's then).
 */
export function createAccountActivity(db: Database) {
  return {
    recent(account: { id: string; email: string; createdAt: Date }, limit = 20): Promise<StoredAuditEvent[]> {
      const bounded = Math.min(MAX_ACTIVITY, Math.max(1, Math.floor(limit)));
      return listAccountActivity(db, { accountId: account.id, email: account.email, emailSince: account.createdAt, hidden: STEPS, limit: bounded });
    },
  };
}
