import type { AttemptStore } from '../federation/attempt-store.ts';

/**
 * The account a registration created from this sign-in, kept with the sign-in's other
 * short-lived records and expiring with it. Only a request that created the account writes it
 * (src/accounts/self-service.ts `onCreated`), never one that met a taken email, so continuing
 * the sign-in can only ever reach the account this browser just made.
 */
export function pendingRegistrations(store: AttemptStore) {
  const key = (uid: string) => `registration:${uid}`;
  return {
    save: (uid: string, accountId: string, ttlSeconds: number) => store.put(key(uid), { accountId }, ttlSeconds),
    find: async (uid: string): Promise<string | null> => (await store.get<{ accountId: string }>(key(uid)))?.accountId ?? null,
    drop: (uid: string) => store.delete(key(uid)),
  };
}

export type PendingRegistrations = ReturnType<typeof pendingRegistrations>;
