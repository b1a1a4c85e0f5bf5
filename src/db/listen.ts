import pg from 'pg';
import type { Logger } from '../log.ts';

export interface ChangeFeedEvents {
  /** A notification arrived on the channel; `payload` is what the sender put there. */
  notify(payload: string): void;
  /**
   * The feed went live (true) or was lost (false). While it is down, notifications are missed,
   * so whoever relies on them must not trust what they remember from before.
   */
  state(listening: boolean): void;
}

export interface ChangeFeed {
  readonly listening: boolean;
  close(): Promise<void>;
}

export interface ChangeFeedOptions {
  /** Wait between attempts to reconnect (ms). */
  retryMs?: number;
  /** How often the idle connection is checked (ms): a connection cut by the network says nothing. */
  checkMs?: number;
}

const CLOSE_WAIT_MS = 1000;

/**
 * LISTEN on one channel over a connection of its own (a pooled one would be handed back and
 * stop listening), reconnecting after any failure. Resolves once the first attempt has either
 * succeeded or failed; later attempts run in the background until close().
 */
export async function listenForChanges(
  connection: pg.ClientConfig,
  channel: string,
  events: ChangeFeedEvents,
  logger: Logger,
  options: ChangeFeedOptions = {},
): Promise<ChangeFeed> {
  const retryMs = options.retryMs ?? 1000;
  const checkMs = options.checkMs ?? 10_000;
  let client: pg.Client | null = null;
  let listening = false;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let check: NodeJS.Timeout | undefined;
  let everListened = false;
  let startFailureLogged = false;

  const lost = (reason: unknown) => {
    clearInterval(check);
    const old = client;
    client = null;
    old?.removeAllListeners();
    old?.on('error', () => undefined);
    old?.end().catch(() => undefined);
    if (listening) {
      listening = false;
      logger.warn({ channel, err: (reason as Error | undefined)?.message }, 'change feed lost; caches off until it is back');
      events.state(false);
    }
    if (!closed) {
      clearTimeout(retry);
      retry = setTimeout(() => void attempt(), retryMs);
      retry.unref();
    }
  };

  async function attempt(): Promise<void> {
    if (closed) return;
    // Named, so operators (and tests) can tell it apart in pg_stat_activity.
    const next = new pg.Client({ ...connection, application_name: 'idp-change-feed', keepAlive: true, connectionTimeoutMillis: 5000, query_timeout: 5000 });
    client = next;
    next.on('error', (error) => {
      if (client === next) lost(error);
    });
    next.on('end', () => {
      if (client === next) lost(new Error('connection ended'));
    });
    next.on('notification', (message) => {
      if (message.channel === channel) events.notify(message.payload ?? '');
    });
    try {
      await next.connect();
      await next.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    } catch (error) {
      if (!everListened && !startFailureLogged) {
        startFailureLogged = true;
        logger.warn({ channel, err: (error as Error).message }, 'change feed not available yet; caches off until it is');
      }
      if (client === next) lost(error);
      return;
    }
    if (closed || client !== next) return;
    listening = true;
    if (everListened) logger.info({ channel }, 'change feed back');
    everListened = true;
    events.state(true);
    check = setInterval(() => {
      next.query('SELECT 1').catch((error: unknown) => {
        if (client === next) lost(error);
      });
    }, checkMs);
    check.unref();
  }

  await attempt();
  return {
    get listening() {
      return listening;
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      clearInterval(check);
      const last = client;
      client = null;
      if (listening) {
        listening = false;
        events.state(false);
      }
      if (last) {
        last.removeAllListeners();
        last.on('error', () => undefined);
        // A listening session has nothing to flush, and a server that stopped answering never
        // acknowledges the goodbye: waiting for it would hold up everything closed after the feed.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          last.end().catch(() => undefined),
          new Promise((resolve) => {
            timer = setTimeout(resolve, CLOSE_WAIT_MS);
          }),
        ]);
        clearTimeout(timer);
      }
    },
  };
}
