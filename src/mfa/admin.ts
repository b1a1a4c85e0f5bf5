import { AppError } from '../errors.ts';
import type { AuditLog } from '../audit/service.ts';
import type { UserAdmin, UserRef } from '../accounts/user-admin.ts';
import type { FactorView, MfaService } from './service.ts';

export type MfaAdmin = ReturnType<typeof createMfaAdmin>;

/**
 * Operators' view of a person's second factors (the CLI's `idp user mfa`, the admin API): list
 * them, and reset one or all for someone who lost their device. Every reset is audited with who
 * did it; secrets never leave the service.
 */
export function createMfaAdmin(deps: { users: Pick<UserAdmin, 'find'>; mfa: MfaService; audit: AuditLog }) {
  return {
    async list(ref: UserRef): Promise<{ accountId: string; email: string; factors: FactorView[]; recoveryCodesLeft: number }> {
      const account = await deps.users.find(ref);
      const [factors, recoveryCodesLeft] = await Promise.all([deps.mfa.listFactors(account.id), deps.mfa.recoveryCodesLeft(account.id)]);
      return { accountId: account.id, email: account.email, factors, recoveryCodesLeft };
    },

    /** Removes one factor, or (without `factorId`) every factor and recovery code of the account. */
    async reset(ref: UserRef, factorId: string | undefined, actor: string): Promise<{ removed: number }> {
      const account = await deps.users.find(ref);
      let removed: number;
      if (factorId) {
        if (!(await deps.mfa.removeFactor(account.id, factorId))) throw new AppError('mfa.factor_not_found', `no factor ${factorId} for this user`);
        removed = 1;
      } else {
        removed = await deps.mfa.removeAll(account.id);
      }
      await deps.audit.record({ event: 'mfa.reset', accountId: account.id, email: account.email, details: { actor, factorId: factorId ?? null, removed } });
      return { removed };
    },
  };
}
