import type { AuditEventName } from '../audit/repository.ts';

/**
 * Every audit event name, at run time: webhook filters and `idp audit tail --events` are checked
 * against it, so a typo (`login.suceeded`) is refused instead of silently matching nothing.
 */
export const auditEventNames = [
  'login.succeeded', 'login.failed', 'account.locked', 'account.registered', 'account.registration_attempted',
  'email.verification_sent', 'email.verified', 'password_reset.requested', 'password_reset.completed', 'password.changed',
  'account.disabled', 'account.enabled', 'account.deleted', 'account.exported', 'token.replay_detected',
  'federation.signed_in', 'federation.account_created', 'federation.linked', 'federation.unlinked', 'federation.refused', 'federation.failed',
  'mfa.required', 'mfa.succeeded', 'mfa.failed', 'mfa.reset', 'mfa.enrolled', 'mfa.removed', 'mfa.renamed', 'mfa.recovery_codes_generated',
  'profile.updated', 'email.change_requested', 'email.change_attempted', 'email.changed',
  'session.revoked', 'grant.scope_withdrawn', 'grant.revoked',
  'key.rotated', 'key.activated', 'key.retired', 'key.removed',
  'webhook.created', 'webhook.updated', 'webhook.deleted', 'webhook.secret_rotated', 'webhook.test', 'webhook.delivery_failed',
  'logout.backchannel_delivered', 'logout.backchannel_failed', 'admin.changed',
] as const satisfies readonly AuditEventName[];

// Fails to compile when AuditEventName gains a name this list lacks.
type Missing = Exclude<AuditEventName, (typeof auditEventNames)[number]>;
const complete: [Missing] extends [never] ? true : Missing = true;
void complete;

const PATTERN = /^(?:\*|[a-z][a-z_]*(?:\.[a-z_]+)*(?:\.\*)?)$/;

/** Why an event filter entry is refused, or null: an event name, a prefix such as `login.*`, or `*`. */
export function eventPatternProblem(pattern: string): string | null {
  if (!PATTERN.test(pattern)) return `"${pattern}" is neither an event name (login.failed) nor a prefix (login.*)`;
  if (!auditEventNames.some((name) => matchesPattern(pattern, name))) return `"${pattern}" matches no audit event (see the README for the event names)`;
  return null;
}

function matchesPattern(pattern: string, name: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return name.startsWith(pattern.slice(0, -1));
  return name === pattern;
}

/** Whether an event passes a filter; an empty filter passes everything. */
export const matchesEvents = (patterns: readonly string[], name: string): boolean =>
  patterns.length === 0 || patterns.some((pattern) => matchesPattern(pattern, name));
