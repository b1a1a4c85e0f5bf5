import { once } from 'node:events';
import type { Server } from 'node:http';
import type { Logger } from './log.ts';

/**
 * On SIGTERM or SIGINT: stop accepting connections, let in-flight requests finish (5 s at
 * most), then release resources (`close`, e.g. the embedded database lock) and exit.
 */
export function closeOnSignals(servers: Server[], close: () => Promise<void>, logger: Logger): void {
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => servers.forEach((server) => server.closeAllConnections()), 5000);
    force.unref();
    await Promise.all(servers.map(async (server) => {
      const closed = once(server, 'close');
      server.close();
      server.closeIdleConnections();
      await closed;
    }));
    await close();
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
