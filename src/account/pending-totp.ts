import type { AttemptStore } from '../federation/attempt-store.ts';

// Time to find the phone, scan the code and type the first one, with room for a re-sign-in.
const PENDING_SECONDS = 15 * 60;

const keyOf = (accountId: string) => `account:totp:${accountId}`;

/**
 * The authenticator app an account is adding, by factor id: one at a time per account, so a
 * reload, a wrong first code or a fresh sign-in in between shows the same secret again (the
 * secret itself stays sealed in its factor row, src/mfa/service.ts, never in a form field).
 */
export function pendingTotp(store: AttemptStore) {
  return {
    find: async (accountId: string): Promise<string | null> => (await store.get<{ factorId: string }>(keyOf(accountId)))?.factorId ?? null,
    save: (accountId: string, factorId: string): Promise<void> => store.put(keyOf(accountId), { factorId }, PENDING_SECONDS),
    drop: (accountId: string): Promise<void> => store.delete(keyOf(accountId)),
  };
}

export type PendingTotp = ReturnType<typeof pendingTotp>;
