import type { AuditLog } from '../audit/service.ts';
import { AppError } from '../errors.ts';
import type { AccountSession, AccountStateStore } from '../oidc/adapters/account-state.ts';
import type { SessionDevices } from './devices.ts';

/** Who asks, for the audit trail: the account console today, the account API later. */
export interface Actor {
  email: string;
  ip: string | null;
  userAgent: string | null;
  via: 'account_console' | 'account_api';
}

/** One signed-in provider session of a person, as they see it on their list of devices. */
export interface DeviceSession {
  /** The session's uid: what forms name it by (its id is the session cookie's value, a secret). */
  uid: string;
  /** The session the asking console session was signed in from: "this device". */
  current: boolean;
  signedInAt: Date | null;
  firstUsedAt: Date | null;
  /** The last request that used it (src/sessions/record-device.ts); null when nothing recorded it. */
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  ip: string | null;
  userAgent: string | null;
  /** Client ids of the applications signed in through it, sorted. */
  clients: string[];
}

export type SessionService = ReturnType<typeof createSessionService>;

/** The current session first, then the most recently used. */
function byUse(a: DeviceSession, b: DeviceSession): number {
  if (a.current !== b.current) return a.current ? -1 : 1;
  const time = (session: DeviceSession) => (session.lastUsedAt ?? session.firstUsedAt ?? session.signedInAt)?.getTime() ?? 0;
  return time(b) - time(a) || (a.uid < b.uid ? -1 : 1);
}

/**
 * A person's own provider sessions: listing them with where they were used, and signing them out
 * one at a time or all but the current one. Another account's session, or a uid that is none,
 * is not found (404), the same answer either way.
 */
export function createSessionService(deps: { accountState: AccountStateStore; devices: SessionDevices; audit: AuditLog }) {
  const { accountState, devices, audit } = deps;

  async function list(accountId: string, currentUid: string | null): Promise<Array<DeviceSession & { id: string }>> {
    const sessions = await accountState.listSessions(accountId);
    const shown = await Promise.all(sessions.map(async (session) => {
      const device = await devices.find(session.uid);
      const mine = device?.accountId === accountId ? device : null;
      return {
        id: session.id,
        uid: session.uid,
        current: currentUid !== null && session.uid === currentUid,
        signedInAt: session.loginAt,
        firstUsedAt: mine ? new Date(mine.firstSeenAt) : session.createdAt,
        lastUsedAt: mine ? new Date(mine.lastSeenAt) : null,
        expiresAt: session.expiresAt,
        ip: mine?.ip ?? null,
        userAgent: mine?.userAgent ?? null,
        clients: session.clients,
      };
    }));
    return shown.sort(byUse);
  }

  /**
   * Every session a person ends goes through here: the provider session, the grants it
   * authorized with their tokens (as the admin API's revocation does), and its device record.
   * Back-channel logout (OpenID Back-Channel Logout 1.0) is queued by revokeSession itself,
   * before the session is deleted, as on every other way a session ends (src/events/backchannel-logout.ts).
   */
  async function endSession(accountId: string, session: Pick<AccountSession, 'id' | 'uid'>): Promise<boolean> {
    const ended = await accountState.revokeSession(accountId, session.id);
    if (ended) await devices.forget(session.uid);
    return ended;
  }

  const record = (accountId: string, actor: Actor, session: DeviceSession, which: 'one' | 'all_others') => audit.record({
    event: 'session.revoked',
    reason: actor.via,
    accountId,
    email: actor.email,
    ip: actor.ip,
    userAgent: actor.userAgent,
    details: { sessionUid: session.uid, which, thisDevice: session.current, clients: session.clients, sessionIp: session.ip, sessionUserAgent: session.userAgent },
  });

  return {
    /** The account's live sessions, the current one (`currentUid`) first, then by last use. */
    list: async (accountId: string, currentUid: string | null): Promise<DeviceSession[]> => (await list(accountId, currentUid)).map(({ id: _id, ...session }) => session),

    /** Signs out the session `uid` of the account; resolves to what it was. */
    async end(accountId: string, uid: string, currentUid: string | null, actor: Actor): Promise<DeviceSession> {
      const found = (await list(accountId, currentUid)).find((session) => session.uid === uid);
      // Ended a moment ago elsewhere counts as not found too: there is nothing left to end.
      if (!found || !(await endSession(accountId, found))) throw new AppError('not_found', 'this account has no such session');
      const { id: _id, ...session } = found;
      await record(accountId, actor, session, 'one');
      return session;
    },

    /** Signs out every session of the account but `currentUid`; resolves to how many ended. */
    async endOthers(accountId: string, currentUid: string | null, actor: Actor): Promise<number> {
      const others = (await list(accountId, currentUid)).filter((session) => !session.current);
      let ended = 0;
      for (const found of others) {
        if (!(await endSession(accountId, found))) continue;
        ended += 1;
        const { id: _id, ...session } = found;
        await record(accountId, actor, session, 'all_others');
      }
      return ended;
    },
  };
}
