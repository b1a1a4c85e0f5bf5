import type { Database } from '../db/database.ts';
import { listenForChanges, type ChangeFeed } from '../db/listen.ts';
import type { Logger } from '../log.ts';
import type { StoredAuditEvent } from '../audit/repository.ts';
import { findAuditEventsByIds, latestAuditEventId, listAuditEventsAfter } from '../audit/feed-repository.ts';
import { matchesEvents } from './event-types.ts';

/** Migration 0026 notifies here whenever audit events commit. */
export const AUDIT_CHANNEL = 'idp_audit_events';

const PAGE = 500;
// An id below the cursor that has not committed yet (transactions commit in any order) is looked
// for again until this long has passed; a rolled-back insert leaves a gap for good.
const GAP_WAIT_MS = 10_000;
const MAX_GAP = 1000;

export interface FollowOptions {
  /** Deliver events with ids above this one. */
  after: string;
  onEvent(event: StoredAuditEvent): void;
}

export interface Follower {
  close(): void;
}

export interface AuditFeed {
  /** The newest event's id: where a follower that wants only what comes next starts. */
  latestId(): Promise<string>;
  /** Each event committed after `after`, in id order (one that commits late, as soon as it does). */
  follow(options: FollowOptions): Follower;
  /** Aborted when the process starts shutting down: long-lived responses end then. */
  readonly stopping: AbortSignal;
  /** Shutdown begins: followers and the notification feed stop (once, however often it is called). */
  close(): Promise<void>;
}

export interface AuditFeedOptions {
  db: Database;
  logger: Logger;
  /** Polling while no notifications arrive (the CLI on the embedded database, a lost feed). */
  fastPollMs?: number;
  /** Polling while they do, in case one is missed. */
  slowPollMs?: number;
}

/**
 * Follows the audit trail as it grows. Followers are woken by the notification migration 0026
 * sends when events commit, and read what is new by id; they also poll, fast where
 * notifications cannot arrive. Notifications: PostgreSQL through one LISTEN connection per
 * process, opened when the first follower starts (src/db/listen.ts); the embedded database in
 * the process that owns it, as it commits. A CLI joined to the embedded database over its socket
 * hears none (the owner hears them all; src/db/pglite-wire-server.ts), so it polls every 250 ms.
 */
export function createAuditFeed({ db, logger, fastPollMs = 250, slowPollMs = 2000 }: AuditFeedOptions): AuditFeed {
  const wakeups = new Set<() => void>();
  const followers = new Set<Follower>();
  const stopping = new AbortController();
  let live = false;
  let started: Promise<void> | null = null;
  let feed: ChangeFeed | null = null;
  let closing: Promise<void> | null = null;
  const wakeAll = () => {
    for (const wake of wakeups) wake();
  };

  const start = (): Promise<void> => {
    started ??= (async () => {
      if (db.onNotification) {
        db.onNotification((channel) => {
          if (channel === AUDIT_CHANNEL) wakeAll();
        });
        await db.query(`LISTEN ${AUDIT_CHANNEL}`);
        live = true;
      } else if (!db.embedded) {
        feed = await listenForChanges(db.pool.options, AUDIT_CHANNEL, {
          notify: wakeAll,
          state: (listening) => {
            live = listening;
            // Back after a loss: whatever was missed meanwhile is read now.
            if (listening) wakeAll();
          },
        }, logger);
      }
    })().catch((error: unknown) => logger.warn({ err: error }, 'audit notifications unavailable; followers poll'));
    return started;
  };

  return {
    stopping: stopping.signal,
    latestId: () => latestAuditEventId(db),
    follow({ after, onEvent }) {
      if (stopping.signal.aborted) return { close: () => undefined };
      void start();
      let cursor = BigInt(after);
      const gaps = new Map<bigint, number>();
      let closed = false;
      let reading = false;
      let again = false;
      let timer: NodeJS.Timeout | undefined;

      const emit = (event: StoredAuditEvent) => {
        if (!closed) onEvent(event);
      };
      const read = async () => {
        if (gaps.size) {
          const now = Date.now();
          const late = await findAuditEventsByIds(db, [...gaps.keys()].map(String));
          for (const event of late) {
            gaps.delete(BigInt(event.id));
            emit(event);
          }
          for (const [id, since] of gaps) if (now - since > GAP_WAIT_MS) gaps.delete(id);
        }
        for (;;) {
          const events = await listAuditEventsAfter(db, cursor.toString(), PAGE);
          for (const event of events) {
            const id = BigInt(event.id);
            if (id - cursor > 1n && id - cursor <= BigInt(MAX_GAP)) {
              for (let missing = cursor + 1n; missing < id; missing++) gaps.set(missing, Date.now());
            }
            cursor = id;
            emit(event);
          }
          if (events.length < PAGE || closed) break;
        }
      };
      const schedule = () => {
        clearTimeout(timer);
        if (closed) return;
        timer = setTimeout(() => void run(), live ? slowPollMs : fastPollMs);
        timer.unref();
      };
      const run = async () => {
        if (closed) return;
        if (reading) {
          again = true;
          return;
        }
        reading = true;
        try {
          do {
            again = false;
            await read();
          } while (again && !closed);
        } catch (error) {
          logger.warn({ err: error }, 'reading the audit trail failed; trying again');
        } finally {
          reading = false;
          schedule();
        }
      };
      const wake = () => void run();
      wakeups.add(wake);
      const follower: Follower = {
        close() {
          closed = true;
          clearTimeout(timer);
          wakeups.delete(wake);
          followers.delete(follower);
        },
      };
      followers.add(follower);
      void run();
      return follower;
    },
    close() {
      closing ??= (async () => {
        stopping.abort();
        for (const follower of [...followers]) follower.close();
        await started;
        await feed?.close();
      })();
      return closing;
    },
  };
}

export interface AuditEventFilter {
  /** Event names and prefixes (login.*); empty: all. */
  events: readonly string[];
  /** Events about this address, or about the account that has it now. */
  email?: string | undefined;
  accountId?: string | null | undefined;
}

/** Whether an event passes a follower's filter (`idp audit tail`, the SSE stream). */
export function passes(filter: AuditEventFilter, event: StoredAuditEvent): boolean {
  if (!matchesEvents(filter.events, event.event)) return false;
  if (filter.email === undefined) return true;
  return event.email?.toLowerCase() === filter.email.toLowerCase() || (filter.accountId != null && event.accountId === filter.accountId);
}
