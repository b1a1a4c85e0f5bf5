import type { JWK } from 'jose';
import type { Database } from '../../db/database.ts';
import { listenForChanges, type ChangeFeed } from '../../db/listen.ts';
import type { Logger } from '../../log.ts';
import type { Clock } from '../../clock.ts';
import { dueSteps, fingerprint, type KeyRecord } from './lifecycle.ts';
import type { SigningKeyService } from './service.ts';

/** The channel migration 0019 notifies on whenever signing_keys changes. */
export const KEYS_CHANNEL = 'idp_signing_keys_changed';

export interface KeyFollower {
  /** Reads the keys now and follows any change; resolves once followed. */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

export interface FollowOptions {
  db: Database;
  service: SigningKeyService;
  logger: Logger;
  clock: Clock;
  /** What this instance holds now (service.loadPublished at start-up). */
  initial: KeyRecord[];
  /** Told the new published keys after any change, in oidc-provider's order. */
  onChange(published: { records: KeyRecord[]; jwks: JWK[] }): void;
  /** Open a LISTEN session on PostgreSQL (false behind a pooler that cannot hold one: poll only). */
  listen: boolean;
  /** How often the schedule is checked against the clock, in memory (ms). */
  tickMs?: number;
  /** How often the table is read while no change feed is live (ms). */
  pollMs?: number;
  /** How often it is read anyway, should a notification be lost without the feed noticing (ms). */
  safetyPollMs?: number;
}

/**
 * Keeps this instance on the keys in the table. A change by anyone (another instance, the CLI,
 * plain SQL) arrives as a notification and is followed at once; while the feed is down the table
 * is read every `pollMs`, so every instance follows within a few seconds either way. The same
 * timer applies due scheduled steps (service.applyDueSteps: one instance does each, the others
 * follow the change).
 */
export async function followSigningKeys(options: FollowOptions): Promise<KeyFollower> {
  const { db, service, logger, clock } = options;
  const tickMs = options.tickMs ?? 1000;
  const pollMs = options.pollMs ?? 2000;
  const safetyPollMs = options.safetyPollMs ?? 30_000;
  let records = options.initial;
  let held = fingerprint(records);
  let feedUp = false;
  let lastRead = Date.now();
  let closed = false;

  // One read at a time; a request arriving meanwhile is served by one more read after it.
  let reading: Promise<void> | null = null;
  let again = false;
  async function readOnce(): Promise<void> {
    lastRead = Date.now();
    const listed = await service.list();
    records = listed;
    if (fingerprint(listed) === held) return;
    const published = await service.loadPublished();
    records = published.records;
    const next = fingerprint(published.records);
    if (next === held) return;
    options.onChange(published);
    held = next;
    logger.info({ active: published.records.filter((key) => key.state === 'active').map((key) => key.kid), published: published.records.length }, 'signing keys changed: now signing and publishing with these');
  }
  function refresh(): Promise<void> {
    if (reading) {
      again = true;
      return reading;
    }
    reading = (async () => {
      try {
        do {
          again = false;
          await readOnce();
        } while (again && !closed);
      } finally {
        reading = null;
      }
    })();
    return reading;
  }
  const refreshLogged = () => {
    refresh().catch((error: unknown) => logger.warn({ err: error }, 'signing keys could not be read; keeping the ones held'));
  };

  let ticking = false;
  async function tick(): Promise<void> {
    if (ticking || closed) return;
    ticking = true;
    try {
      if (dueSteps(records, clock.now(), service.schedule).length) {
        await service.applyDueSteps();
        await refresh();
      } else if (Date.now() - lastRead >= (feedUp ? safetyPollMs : pollMs)) {
        await refresh();
      }
    } catch (error) {
      logger.warn({ err: error }, 'signing key schedule check failed; trying again');
    } finally {
      ticking = false;
    }
  }

  let feed: ChangeFeed | null = null;
  if (db.onNotification) {
    // Embedded: every writer, the CLI included, goes through this process's database, so the
    // notification is heard here as it commits and the feed cannot be down.
    db.onNotification((channel) => {
      if (channel === KEYS_CHANNEL) refreshLogged();
    });
    await db.query(`LISTEN ${KEYS_CHANNEL}`);
    feedUp = true;
  } else if (options.listen && !db.embedded) {
    feed = await listenForChanges(db.pool.options, KEYS_CHANNEL, {
      notify: refreshLogged,
      state: (listening) => {
        feedUp = listening;
        // Whatever changed while it was down was not announced.
        if (listening) refreshLogged();
      },
    }, logger);
  }
  const timer = setInterval(() => void tick(), tickMs);
  timer.unref();

  return {
    refresh,
    async close() {
      closed = true;
      clearInterval(timer);
      await feed?.close();
      await reading?.catch(() => undefined);
    },
  };
}
