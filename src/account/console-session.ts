import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { AttemptStore } from '../federation/attempt-store.ts';
import type { Clock } from '../clock.ts';

/**
 * A signed-in visit to the account console. The browser holds only its random id (a signed
 * cookie, src/account/cookies.ts); the record lives where provider state lives, so any instance
 * serves the next request and ending it anywhere ends it everywhere.
 */
export interface ConsoleSession {
  id: string;
  accountId: string;
  /**
   * The provider's auth_time for this sign-in, epoch seconds of oidc-provider's own clock: what
   * an account's "revoke everything" time (accounts.sessions_valid_after) is compared with.
   */
  authTime: number;
  /** The same moment on the console's clock (src/clock.ts), for the fresh-sign-in rule. */
  authenticatedAt: number;
  amr: string[];
  acr: string | null;
  /** The provider session it came from (its uid): signing out there ends this too. */
  sessionUid: string | null;
  /** The synchroniser token every form and JSON call of this session carries (OWASP ASVS V3.5). */
  csrf: string;
  lastSeenAt: number;
}

export type ConsoleSessions = ReturnType<typeof consoleSessions>;

const keyOf = (id: string) => `account:session:${id}`;
// A session id is 32 random bytes, base64url: anything else in the cookie is not one of ours.
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;
// Each request would otherwise rewrite the record; within a minute the idle deadline barely moves.
const TOUCH_AFTER_MS = 60_000;

/**
 * Sessions with a sliding idle lifetime: each use pushes the end `idleSeconds` further, judged
 * by the console's clock; the store's own expiry only collects what that clock has ended.
 */
export function consoleSessions(store: AttemptStore, clock: Clock, idleSeconds: number) {
  const save = (session: ConsoleSession) => store.put(keyOf(session.id), session, idleSeconds);
  return {
    async create(fields: Omit<ConsoleSession, 'id' | 'csrf' | 'lastSeenAt'>): Promise<ConsoleSession> {
      const session: ConsoleSession = { ...fields, id: randomBytes(32).toString('base64url'), csrf: randomBytes(32).toString('base64url'), lastSeenAt: clock.now() };
      await save(session);
      return session;
    },

    /** The live session with this id, or null (unknown, ended, or idle too long). */
    async find(id: string | undefined): Promise<ConsoleSession | null> {
      if (!id || !SESSION_ID.test(id)) return null;
      const session = await store.get<ConsoleSession>(keyOf(id));
      if (!session) return null;
      if (clock.now() - session.lastSeenAt > idleSeconds * 1000) {
        await store.delete(keyOf(id));
        return null;
      }
      return session;
    },

    /** Marks the session used now, pushing its idle end further. */
    async touch(session: ConsoleSession): Promise<void> {
      const now = clock.now();
      if (now - session.lastSeenAt < TOUCH_AFTER_MS) return;
      await save({ ...session, lastSeenAt: now });
    },

    end: (id: string): Promise<void> => store.delete(keyOf(id)),
  };
}

/** Whether `token` is this session's CSRF token, compared in constant time. */
export function csrfMatches(session: ConsoleSession, token: unknown): boolean {
  if (typeof token !== 'string' || token.length > 64) return false;
  const given = Buffer.from(token);
  const expected = Buffer.from(session.csrf);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Whether the sign-in behind the session is recent enough to add or remove a factor. */
export const isFresh = (session: ConsoleSession, clock: Clock, reauthSeconds: number): boolean =>
  clock.now() - session.authenticatedAt <= reauthSeconds * 1000;
