import type { AttemptStore } from '../federation/attempt-store.ts';
import type { AuthorizationChecks } from '../federation/upstream.ts';

/** A link under way at an upstream, kept server-side under its state until the answer comes back. */
export interface LinkAttempt {
  upstreamId: string;
  accountId: string;
  /** The console session and the browser that started it: the answer counts only in both. */
  sessionId: string;
  browser: string;
  checks: AuthorizationChecks;
}

const keyOf = (state: string) => `account:link:${state}`;

// Long enough to sign in at the upstream (a password, its own second step), short enough that a
// forgotten tab's attempt does not linger.
export const LINK_WITHIN_SECONDS = 10 * 60;

export function linkAttempts(store: AttemptStore) {
  return {
    save: (attempt: LinkAttempt): Promise<void> => store.put(keyOf(attempt.checks.state), attempt, LINK_WITHIN_SECONDS),
    /** The attempt for this state, at most once (a replayed answer finds nothing). */
    take: (state: string): Promise<LinkAttempt | null> => store.take<LinkAttempt>(keyOf(state)),
  };
}
