import type { AttemptStore } from '../federation/attempt-store.ts';
import type { Level } from '../mfa/levels.ts';

/**
 * A sign-in whose first step is done (a password, an upstream, or the session a step-up starts
 * from) and whose second factor is still to come, kept server-side with the interaction and
 * expiring with it: the second-factor step is bound to this interaction's record, so no form
 * post can skip it or carry it to another sign-in.
 */
export interface PendingSecondFactor {
  accountId: string;
  /** RFC 8176 methods shown so far in this sign-in: ['pwd'], ['fed'], or the session's. */
  amr: string[];
  /** The level this sign-in must reach: a phishing-resistant one is finished by a passkey only. */
  level: Level;
  /** Set when the account has no factor yet and must enrol one before it continues. */
  enrol?: { totpFactorId?: string | undefined; passkey?: boolean | undefined; done?: { amr: string[]; recoveryCodes: boolean } | undefined } | undefined;
}

export function pendingSecondFactors(store: AttemptStore) {
  const key = (uid: string) => `second-factor:${uid}`;
  return {
    save: (uid: string, pending: PendingSecondFactor, ttlSeconds: number) => store.put(key(uid), pending, ttlSeconds),
    find: (uid: string): Promise<PendingSecondFactor | null> => store.get<PendingSecondFactor>(key(uid)),
    /** Taken once, when the factor was right: a second post with the same code finds nothing. */
    take: (uid: string): Promise<PendingSecondFactor | null> => store.take<PendingSecondFactor>(key(uid)),
  };
}

export type PendingSecondFactors = ReturnType<typeof pendingSecondFactors>;
