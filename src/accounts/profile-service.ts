import type { Database } from '../db/database.ts';
import type { AuditLog } from '../audit/service.ts';
import { AppError } from '../errors.ts';
import { findAccountById, updateAccountProfile, type Account } from './repository.ts';
import { applyProfileInput, type ProfileField, type ProfileInput, type ProfileProblem } from './profile-fields.ts';
import type { ChangeContext } from './change-context.ts';

export type ProfileService = ReturnType<typeof createProfileService>;

export type ProfileUpdate = { ok: true; account: Account; changed: ProfileField[] } | { ok: false; problems: ProfileProblem[] };

/**
 * A person's own profile claims. Nothing caches them: findAccount (src/oidc/find-account.ts)
 * reads the account on every ID token and userinfo answer, so the next one of either, on any
 * instance, carries the change.
 */
export function createProfileService(deps: { db: Database; audit: AuditLog; locales: readonly string[] }) {
  const { db, audit } = deps;
  return {
    /** The languages a profile may name (the catalogue's), besides "automatic". */
    locales: deps.locales,

    /**
     * Applies what was typed (see ProfileInput); every refused field is reported at once and
     * nothing is written. A change is written and audited (`profile.updated`, with the fields)
     * in one transaction; no change writes nothing.
     */
    async update(accountId: string, input: ProfileInput, context: ChangeContext): Promise<ProfileUpdate> {
      return db.transaction(async (tx) => {
        // Only the fields that differ from what this request read are written: two saves at
        // once that change different fields both keep their change.
        const current = await findAccountById(tx, accountId);
        if (!current) throw new AppError('account.not_found', 'the account is gone');
        const result = applyProfileInput(current, input, deps.locales);
        if (!result.ok) return result;
        if (!result.changed.length) return { ok: true, account: current, changed: [] };
        const changes = Object.fromEntries(result.changed.map((field) => [field, result.profile[field]]));
        const account = await updateAccountProfile(tx, accountId, changes);
        if (!account) throw new AppError('account.not_found', 'the account is gone');
        await audit.record({
          event: 'profile.updated', reason: context.via, accountId, email: account.email, ip: context.ip, userAgent: context.userAgent, details: { fields: result.changed },
        }, tx);
        return { ok: true, account, changed: result.changed };
      });
    },
  };
}
