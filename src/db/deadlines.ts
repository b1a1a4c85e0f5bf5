import pg from 'pg';

/** The database deadlines of `config.timeouts`, in milliseconds. */
export interface DatabaseTimeouts {
  databaseConnectMs: number;
  databaseStatementMs: number;
  databasePoolWaitMs: number;
  embeddedFloorMs: number;
}

// The client gives up a little after the server would have: a server that is alive reports its
// own statement timeout (57014) and keeps the connection; one that never answers still ends.
const CLIENT_MARGIN_MS = 500;

// pg-pool hands its one connectionTimeoutMillis to every client it opens; this class gives the
// opening of a connection its own, shorter or equal, deadline inside the checkout's.
function clientClass(connectMs: number): new () => pg.Client {
  return class extends pg.Client {
    constructor(config?: pg.ClientConfig) {
      super({ ...config, connectionTimeoutMillis: connectMs });
    }
  };
}

/**
 * pg pool settings for PostgreSQL: a checkout waits at most databasePoolWaitMs (pg-pool's single
 * deadline, free connection or new one), opening one at most databaseConnectMs; the server
 * cancels a statement after databaseStatementMs and the client stops waiting shortly after.
 * TCP keep-alive notices a peer that vanished without closing the connection.
 */
export function postgresPoolOptions(timeouts: DatabaseTimeouts): pg.PoolConfig {
  return {
    Client: clientClass(timeouts.databaseConnectMs),
    connectionTimeoutMillis: timeouts.databasePoolWaitMs,
    statement_timeout: timeouts.databaseStatementMs,
    query_timeout: timeouts.databaseStatementMs + CLIENT_MARGIN_MS,
    // A transaction left open and idle (its code stuck awaiting something else) holds its locks
    // and a connection; PostgreSQL ends it, as the embedded wire server does for PGlite.
    idle_in_transaction_session_timeout: idleInTransactionMs(timeouts),
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
}

/** Generous: our transactions run a few statements back to back (argon2 runs outside them). */
export function idleInTransactionMs(timeouts: DatabaseTimeouts): number {
  return Math.max(10_000, 4 * timeouts.databaseStatementMs);
}

/**
 * The same for the embedded database's unix socket. PGlite runs one statement at a time for
 * every connection and cannot cancel one, so there is no statement_timeout to send; a statement
 * may first wait its turn (embeddedFloorMs, after which the wire server answers with an error)
 * and then run, and the client's deadline covers both.
 */
export function embeddedPoolOptions(timeouts: DatabaseTimeouts): pg.PoolConfig {
  return {
    Client: clientClass(timeouts.databaseConnectMs),
    connectionTimeoutMillis: timeouts.databasePoolWaitMs,
    query_timeout: timeouts.embeddedFloorMs + timeouts.databaseStatementMs + CLIENT_MARGIN_MS,
  };
}
