import type { AttemptStore } from '../federation/attempt-store.ts';

/**
 * A sign-in whose password was right and whose second factor is still to come, kept server-side
 * with the interaction and expiring with it: the second-factor step is bound to this
 * interaction's record, so no form post can skip it or carry it to another sign-in.
 */
export function pendingSecondFactors(store: AttemptStore) {
  const key = (uid: string) => `second-factor:${uid}`;
  return {
    save: (uid: string, accountId: string, ttlSeconds: number) => store.put(key(uid), { accountId }, ttlSeconds),
    find: async (uid: string): Promise<string | null> => (await store.get<{ accountId: string }>(key(uid)))?.accountId ?? null,
    /** Taken once, when the factor was right: a second post with the same code finds nothing. */
    take: async (uid: string): Promise<string | null> => (await store.take<{ accountId: string }>(key(uid)))?.accountId ?? null,
  };
}

export type PendingSecondFactors = ReturnType<typeof pendingSecondFactors>;
