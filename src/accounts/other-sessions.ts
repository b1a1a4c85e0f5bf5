import type { AccountStateStore } from '../oidc/adapters/account-state.ts';
import type { SessionGrantIds } from '../oidc/session-grants.ts';

/**
 * Signs an account out everywhere but one provider session (the one the person is using):
 * every other session ends with the grants it authorized (and their tokens), and so does every
 * grant no live session holds any more (an application's refresh token from a session that has
 * ended). The session kept keeps the applications signed in through it, the console included.
 *
 * Unlike revokeAll, there is no "revoked before" line (accounts.sessions_valid_after) to refuse
 * a write-back: it would refuse the kept session too. A request of another session already in
 * flight may save its session once more; that session is then as it was, and the next "sign
 * out other devices" ends it.
 */
export async function signOutOtherSessions(state: AccountStateStore, grantsOf: SessionGrantIds, accountId: string, keepSessionUid: string | null): Promise<{ sessions: number; grants: number }> {
  const kept = new Set(keepSessionUid ? await grantsOf(keepSessionUid) : []);
  let sessions = 0;
  for (const session of await state.listSessions(accountId)) {
    if (keepSessionUid && session.uid === keepSessionUid) continue;
    if (await state.revokeSession(accountId, session.id)) sessions += 1;
  }
  let grants = 0;
  for (const grant of await state.listGrants(accountId)) {
    if (kept.has(grant.id)) continue;
    if (await state.revokeGrant(accountId, grant.id)) grants += 1;
  }
  return { sessions, grants };
}
