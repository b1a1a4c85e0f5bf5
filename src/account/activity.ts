import type { Context } from 'koa';
import type { Account } from '../accounts/repository.ts';
import type { AuditEventName, StoredAuditEvent } from '../audit/repository.ts';
import type { Translate } from '../i18n/catalogue.ts';
import type { AccountConsoleDeps } from './deps.ts';
import { browserWords } from './browser-words.ts';
import { timeFormat } from './time-format.ts';

/** How many events the security page lists. */
const SHOWN = 20;

/** The events said in words (account.activity.events.*); any other is named by its code. */
const WORDED: ReadonlySet<AuditEventName> = new Set<AuditEventName>([
  'login.succeeded', 'login.failed', 'account.locked', 'account.registered', 'account.registration_attempted',
  'email.verification_sent', 'email.verified', 'password_reset.requested', 'password_reset.completed', 'password.changed',
  'account.disabled', 'account.enabled', 'token.replay_detected', 'federation.signed_in', 'federation.account_created',
  'federation.linked', 'federation.unlinked', 'federation.refused', 'federation.failed', 'mfa.failed', 'mfa.reset',
  'mfa.enrolled', 'mfa.removed', 'mfa.renamed', 'mfa.recovery_codes_generated', 'session.revoked', 'grant.scope_withdrawn', 'grant.revoked',
  'profile.updated', 'email.change_requested', 'email.change_attempted', 'email.changed', 'account.exported',
]);

/** Why a sign-in failed, where the words help the person (account.activity.reasons.*). */
const REASONS: ReadonlySet<string> = new Set(['bad_password', 'no_password', 'locked', 'account_limit', 'ip_limit', 'email_unverified', 'disabled', 'invalid', 'factor_limit']);

export interface ActivityItem {
  text: string;
  /** Failures and refusals, marked on the page. */
  failure: boolean;
  when: { text: string; iso: string };
  ip: string | null;
  browser: string | null;
}

const FAILURES: ReadonlySet<AuditEventName> = new Set<AuditEventName>(['login.failed', 'mfa.failed', 'account.locked', 'federation.failed', 'federation.refused', 'token.replay_detected', 'account.registration_attempted', 'email.change_attempted']);

function eventWords(t: Translate, event: StoredAuditEvent): string {
  if (!WORDED.has(event.event)) return t('account.activity.events.other', { event: event.event });
  const details = event.details ?? {};
  let key = `account.activity.events.${event.event.replace(/\./g, '_')}`;
  if (event.event === 'login.succeeded' && details.method === 'passkey') key = 'account.activity.events.login_succeeded_passkey';
  else if (event.event === 'login.succeeded' && typeof details.secondFactor === 'string') key = 'account.activity.events.login_succeeded_second_step';
  const text = t(key);
  const reason = event.reason?.startsWith('passkey_') ? 'passkey' : event.reason;
  const failure = event.event === 'login.failed' || event.event === 'mfa.failed';
  if (failure && reason && (REASONS.has(reason) || reason === 'passkey')) return t('account.activity.with_reason', { event: text, reason: t(`account.activity.reasons.${reason}`) });
  return text;
}

/** The last security events of the account, in the page's words. */
export async function recentActivity(ctx: Context, deps: AccountConsoleDeps, account: Account): Promise<ActivityItem[]> {
  const t = deps.pages.t(ctx);
  const time = timeFormat(deps, ctx);
  const events = await deps.accountActivity.recent(account, SHOWN);
  return events.map((event) => ({
    text: eventWords(t, event),
    failure: FAILURES.has(event.event),
    when: time(event.occurredAt),
    ip: event.ip,
    // Changes an administrator made have no browser of the person's.
    browser: event.userAgent ? browserWords(t, event.userAgent) : null,
  }));
}
