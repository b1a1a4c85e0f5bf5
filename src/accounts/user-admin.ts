import type { Database } from '../db/database.ts';
import { AppError } from '../errors.ts';
import type { AuditLog } from '../audit/service.ts';
import type { AccountStateStore } from '../oidc/adapters/account-state.ts';
import type { RbacService } from '../rbac/service.ts';
import { deleteAccount, findAccountById, findAccountByEmail, listAccountsPage, updateAccountDisabled, updateAccountProfile, type Account } from './repository.ts';
import { findRoleNamesByAccountId } from './roles-repository.ts';
import type { AccountService, NewAccountInput } from './service.ts';

export type UserAdmin = ReturnType<typeof createUserAdmin>;

export interface UserRef {
  id?: string | undefined;
  email?: string | undefined;
}

/**
 * What operators do to accounts, for the admin API and the CLI alike. Disabling or deleting an
 * account ends its sessions and revokes its grants and tokens at once, on every instance (the
 * state lives in Redis or the database, not in a process).
 */
export function createUserAdmin(deps: { db: Database; accounts: AccountService; rbac: RbacService; accountState: AccountStateStore; audit: AuditLog }) {
  const { db, accountState } = deps;

  async function find(ref: UserRef): Promise<Account> {
    const account = ref.id ? await findAccountById(db, ref.id) : ref.email ? await findAccountByEmail(db, ref.email.trim().toLowerCase()) : null;
    if (!account) throw new AppError('account.not_found', `no user ${ref.id ?? ref.email}`);
    return account;
  }

  const withRoles = async (account: Account) => ({ ...account, roles: await findRoleNamesByAccountId(db, account.id) });

  return {
    find,
    get: async (ref: UserRef) => withRoles(await find(ref)),
    page: (options: { search?: string | undefined; after?: { createdAt: Date; id: string } | undefined; limit: number }) => listAccountsPage(db, options),
    create: (input: NewAccountInput) => deps.accounts.create(input),

    async updateProfile(ref: UserRef, profile: Parameters<typeof updateAccountProfile>[2]) {
      const account = await find(ref);
      return withRoles((await updateAccountProfile(db, account.id, profile))!);
    },

    async setRoles(ref: UserRef, roles: string[]) {
      const account = await find(ref);
      await deps.rbac.setAccountRoles(account.id, roles);
      return withRoles(account);
    },

    async setDisabled(ref: UserRef, disabled: boolean, actor = 'admin') {
      const account = await find(ref);
      await db.transaction(async (tx) => {
        await updateAccountDisabled(tx, account.id, disabled);
        await deps.audit.record({ event: disabled ? 'account.disabled' : 'account.enabled', accountId: account.id, email: account.email, details: { actor } }, tx);
      });
      // Sessions end and tokens stop working now, not when they expire.
      if (disabled) await accountState.revokeAll(account.id);
      return withRoles({ ...account, disabled });
    },

    async delete(ref: UserRef, actor = 'admin'): Promise<void> {
      const account = await find(ref);
      await accountState.revokeAll(account.id);
      await db.transaction(async (tx) => {
        await deps.audit.record({ event: 'account.deleted', accountId: account.id, email: account.email, details: { actor } }, tx);
        await deleteAccount(tx, account.id);
      });
    },

    async sessions(ref: UserRef) {
      const account = await find(ref);
      const [sessions, grants] = await Promise.all([accountState.listSessions(account.id), accountState.listGrants(account.id)]);
      return { sessions, grants };
    },

    async revokeSession(ref: UserRef, sessionId: string): Promise<void> {
      const account = await find(ref);
      if (!(await accountState.revokeSession(account.id, sessionId))) throw new AppError('session.not_found', `no session ${sessionId} for this user`);
    },

    async revokeGrant(ref: UserRef, grantId: string): Promise<void> {
      const account = await find(ref);
      if (!(await accountState.revokeGrant(account.id, grantId))) throw new AppError('grant.not_found', `no grant ${grantId} for this user`);
    },

    async revokeAll(ref: UserRef): Promise<number> {
      return accountState.revokeAll((await find(ref)).id);
    },
  };
}
