import { once } from 'node:events';
import type { Server } from 'node:http';
import type { Logger } from './log.ts';

/** What the process holds open besides its HTTP servers (the deps). */
export interface Closable {
  close(): Promise<void>;
  /** What close() has not finished yet, by name. */
  unclosed?(): string[];
  /** Shutdown begins: long-lived responses (the audit event stream) end, so their connections can close. */
  closing?(): void;
}

const LATE = Symbol('late');

/** What `work` resolves with, or LATE after `ms`. */
function within<T>(work: Promise<T>, ms: number): Promise<T | typeof LATE> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work,
    new Promise<typeof LATE>((resolve) => {
      timer = setTimeout(() => resolve(LATE), Math.max(0, ms));
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * On SIGTERM or SIGINT: stop accepting connections, let in-flight requests finish, release the
 * resources (pools, Redis, the embedded database lock) and exit, all within deadlineMs. Requests
 * get the first half; connections still open then are closed. close() gets what is left: a
 * dependency that stopped answering would otherwise hold the exit forever (a pool's end waits
 * for the connections still in use, a goodbye for the server's acknowledgement). Exits 0 when
 * everything closed, 1 when the deadline cut close() short or it failed, logging what is left.
 */
export function closeOnSignals(servers: Server[], resources: Closable, logger: Logger, options: { deadlineMs: number }): void {
  const { deadlineMs } = options;
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    const started = performance.now();
    const left = () => deadlineMs - (performance.now() - started);
    logger.info({ signal, deadlineMs }, 'shutting down');
    resources.closing?.();
    const drained = Promise.all(servers.map(async (server) => {
      const closed = once(server, 'close');
      server.close();
      server.closeIdleConnections();
      await closed;
    })).catch(() => undefined);
    if ((await within(drained, deadlineMs / 2)) === LATE) {
      logger.warn({ afterMs: Math.round(deadlineMs / 2) }, 'shutdown: requests still in flight were cut');
      servers.forEach((server) => server.closeAllConnections());
      await within(drained, left());
    }
    const closing = resources.close().then(() => null, (error: unknown) => ({ error }));
    const outcome = await within(closing, left());
    if (outcome === LATE) {
      logger.error({ deadlineMs, unfinished: resources.unclosed?.() ?? ['resources'] }, 'shutdown deadline passed; exiting without waiting for these to close');
      process.exit(1);
    }
    if (outcome) {
      logger.error({ err: outcome.error, unfinished: resources.unclosed?.() ?? ['resources'] }, 'shutdown: closing failed');
      process.exit(1);
    }
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

// Errors whose message already tells the operator what to do: one line, no stack trace.
const explained = new Set(['ConfigError', 'EmbeddedDatabaseError', 'MigrationError']);

export function exitOnStartupError(program: string): (error: unknown) => never {
  return (error) => {
    if (error instanceof Error && explained.has(error.name)) console.error(`${program}: ${error.message}`);
    else console.error(`${program}: failed to start:`, error);
    process.exit(1);
  };
}
