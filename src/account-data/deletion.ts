import type { UserAdmin } from '../accounts/user-admin.ts';
import type { AccountRef } from '../federation/account-links.ts';

export type DeletionOutcome = 'deleted' | 'not_confirmed';

export type AccountDeletion = ReturnType<typeof createAccountDeletion>;

/** The confirmation as typed: one line, trimmed, compared without regard to case (emails are kept lowercase). */
const typed = (value: unknown): string => (typeof value === 'string' ? value.slice(0, 320).trim().toLowerCase() : '');

/**
 * A person deleting their own account. It goes the operators' way (src/accounts/user-admin.ts):
 * every session ends and every grant and token is revoked first, on every instance, then the
 * account and what hangs off it (identities, factors, roles, consents: ON DELETE CASCADE) go in
 * one transaction with an `account.deleted` event by `self`. The audit trail keeps the account's
 * events (audit_events has no foreign key to accounts, migrations/0011_audit_events.sql).
 *
 * The rule here is the typed confirmation: the account's email address exactly, a deliberate act
 * a stray click or an autofilled form cannot make (unlike a checkbox), and the same in every
 * language. A recent sign-in is the caller's rule: it knows how the person authenticated (the
 * console's session, an API token's auth_time).
 */
export function createAccountDeletion(deps: { users: Pick<UserAdmin, 'delete'> }) {
  /** Whether `confirmation` is what the person must type to delete the account. */
  const confirms = (account: AccountRef, confirmation: unknown): boolean => typed(confirmation) !== '' && typed(confirmation) === account.email.toLowerCase();
  return {
    confirms,

    async deleteOwnAccount(account: AccountRef, confirmation: unknown): Promise<DeletionOutcome> {
      if (!confirms(account, confirmation)) return 'not_confirmed';
      await deps.users.delete({ id: account.id }, 'self');
      return 'deleted';
    },
  };
}
