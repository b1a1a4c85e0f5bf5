import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Clock } from '../clock.ts';

/** The adapter model the device records live under (beside oidc-provider's own models). */
export const SESSION_DEVICE_MODEL = 'SessionDevice';

/**
 * Where and with what a provider session was used: oidc-provider's Session keeps only a fixed set
 * of fields (lib/models/session.js IN_PAYLOAD), none of them the browser or its address, so they
 * live in a record of their own keyed by the session's uid (stable for the session's life, unlike
 * its id, which changes at every sign-in). It names the account, so both state adapters index it
 * by account and revoking everything an account holds removes it too.
 */
export interface SessionDevice {
  accountId: string;
  ip: string | null;
  userAgent: string | null;
  /** Epoch ms of the console's clock (src/clock.ts). */
  firstSeenAt: number;
  lastSeenAt: number;
}

export type SessionDevices = ReturnType<typeof sessionDevices>;

// A request that uses the session within this long of the last write changes nothing stored:
// the last-use time is that coarse, and a busy session costs one read per request, not a write.
export const TOUCH_AFTER_MS = 5 * 60_000;
const MAX_USER_AGENT = 512;
const MAX_IP = 64;

function parse(stored: AdapterPayload | undefined | void): SessionDevice | null {
  const record = stored as Partial<SessionDevice> | undefined;
  if (!record || typeof record.accountId !== 'string' || typeof record.firstSeenAt !== 'number' || typeof record.lastSeenAt !== 'number') return null;
  return {
    accountId: record.accountId,
    ip: typeof record.ip === 'string' ? record.ip : null,
    userAgent: typeof record.userAgent === 'string' ? record.userAgent : null,
    firstSeenAt: record.firstSeenAt,
    lastSeenAt: record.lastSeenAt,
  };
}

/**
 * `sessionTtlSeconds` is the provider's session lifetime (TTL_SESSION): a record is written at
 * most TOUCH_AFTER_MS before the session's own last save, so it lives that much longer.
 */
export function sessionDevices(adapter: Adapter, clock: Clock, sessionTtlSeconds: number) {
  const ttl = sessionTtlSeconds + Math.ceil(TOUCH_AFTER_MS / 1000);

  const find = async (uid: string): Promise<SessionDevice | null> => (uid ? parse(await adapter.find(uid)) : null);

  return {
    find,

    /** The session `uid` of `accountId` was used now from this address and browser. */
    async seen(uid: string, accountId: string, from: { ip: string | null; userAgent: string | null }): Promise<void> {
      if (!uid || !accountId) return;
      const now = clock.now();
      const ip = from.ip?.slice(0, MAX_IP) ?? null;
      const userAgent = from.userAgent?.slice(0, MAX_USER_AGENT) ?? null;
      const known = await find(uid);
      const same = known?.accountId === accountId;
      if (same && known.ip === ip && known.userAgent === userAgent && now - known.lastSeenAt < TOUCH_AFTER_MS) return;
      const record: SessionDevice = { accountId, ip, userAgent, firstSeenAt: same ? known.firstSeenAt : now, lastSeenAt: now };
      await adapter.upsert(uid, record as unknown as AdapterPayload, ttl);
    },

    async forget(uid: string): Promise<void> {
      if (uid) await adapter.destroy(uid);
    },
  };
}
