import pg from 'pg';
import { postgresPoolOptions, type DatabaseTimeouts } from './deadlines.ts';
import { TransactionScope } from './transaction-scope.ts';

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}

/** Anything that runs SQL: the pool itself or a client inside a transaction. */
export interface Queryable {
  /**
   * `options.name` makes it a named prepared statement on PostgreSQL, planned once per
   * connection: worth it for the few queries on every token request. Each name must always go
   * with the same text. Ignored on the embedded database (see wrap).
   */
  query<R = Record<string, unknown>>(text: string, values?: unknown[], options?: { name?: string }): Promise<QueryResult<R>>;
}

/**
 * Told about every statement once it settles: `operation` is the prepared statement's name when
 * it has one, else `query`; a whole transaction is reported once more as `transaction`.
 */
export type QueryObserver = (operation: string, seconds: number, ok: boolean) => void;

/**
 * Told the text of every INSERT, UPDATE, DELETE, TRUNCATE or MERGE this process ran, once its
 * change is committed: at once for a statement on its own, at COMMIT for one in a transaction
 * (never for a rolled-back one). The config cache uses it to see this process's own changes
 * without waiting for PostgreSQL's notification (src/cache/config-cache.ts).
 */
export type WriteObserver = (statement: string) => void;

export interface Database extends Queryable {
  /**
   * Runs fn inside BEGIN/COMMIT on one connection; rolls back when fn throws. Everything fn does
   * goes through `tx`: the pool (`query`, `withConnection`, `transaction`) refuses to be used from
   * inside fn (TransactionMisuseError, see transaction-scope.ts).
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * Runs fn on a connection of its own, outside the pool and without statement deadlines:
   * session-level advisory locks need one connection, and waiting for such a lock or migrating a
   * large table takes as long as it takes. Only opening the connection has a deadline.
   */
  withConnection<T>(fn: (client: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** True when this is the embedded PGlite database. */
  readonly embedded: boolean;
  /** The pg pool underneath, for what needs connections of its own (the LISTEN feed's settings). */
  readonly pool: pg.Pool;
  /** Installs (or, with undefined, removes) the observer of query timings; metrics use it. */
  setObserver(observer: QueryObserver | undefined): void;
  /** Installs (or, with undefined, removes) the observer of committed writes. */
  setWriteObserver(observer: WriteObserver | undefined): void;
  /**
   * Only on the embedded database, in the process that owns it: every notification on a
   * channel someone has LISTENed to on it, heard in-process as the NOTIFY commits. On PostgreSQL
   * notifications need a connection of their own (src/db/listen.ts).
   */
  readonly onNotification?: ((listener: (channel: string, payload: string) => void) => void) | undefined;
}

interface Observed {
  observer?: QueryObserver | undefined;
  writes?: WriteObserver | undefined;
}

const WRITE_COMMANDS = new Set(['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'MERGE']);

// Several statements in one string come back as an array of results; count that as a write.
const isWrite = (result: pg.QueryResult | pg.QueryResult[]): boolean => Array.isArray(result) || WRITE_COMMANDS.has(result.command);

function report(observed: Observed, operation: string, started: number, ok: boolean): void {
  observed.observer?.(operation, (performance.now() - started) / 1000, ok);
}

/**
 * An error the server sent (pg.DatabaseError) leaves the connection usable; anything else (a
 * deadline, a broken socket) leaves it in an unknown state, so it must be closed, not reused.
 */
const leavesConnectionUsable = (error: unknown): boolean => error instanceof pg.DatabaseError;

interface WrapOptions {
  /** Inside a transaction: the writes to report once it commits. */
  pending?: string[];
  /** Told when a statement failed in a way that leaves the connection unusable. */
  onBroken?: (error: Error) => void;
  /** On the pool: refuses to run from inside a transaction's callback. */
  scope?: TransactionScope;
}

function wrap(client: pg.PoolClient | pg.Pool | pg.Client, embedded: boolean, observed: Observed, options: WrapOptions = {}): Queryable {
  const { pending, onBroken, scope } = options;
  return {
    async query<R>(text: string, values?: unknown[], queryOptions?: { name?: string }) {
      scope?.assertOutside('db.query()');
      const started = performance.now();
      let ok = false;
      try {
        // PGlite is one backend session behind every pooled connection, so a statement named on
        // one connection already exists for the next and PostgreSQL would refuse it.
        const result = queryOptions?.name && !embedded ? await client.query({ name: queryOptions.name, text, values: values ?? [] }) : await client.query(text, values);
        ok = true;
        if (observed.writes && isWrite(result)) {
          if (pending) pending.push(text);
          else observed.writes(text);
        }
        // Several statements in one text answer with one result each: their rows, in order.
        if (Array.isArray(result)) return { rows: (result as pg.QueryResult[]).flatMap((part) => part.rows ?? []) as R[], rowCount: (result as pg.QueryResult[]).reduce((sum, part) => sum + (part.rowCount ?? 0), 0) };
        return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
      } catch (error) {
        if (onBroken && !leavesConnectionUsable(error)) onBroken(error as Error);
        throw error;
      } finally {
        if (observed.observer) report(observed, queryOptions?.name ?? 'query', started, ok);
      }
    },
  };
}

/**
 * Every database, PostgreSQL or embedded PGlite, is reached through a `pg` pool: the embedded
 * one is served over a unix socket by its owning process (see embedded.ts), so there is one code path.
 */
export function createDatabase(pool: pg.Pool, options: {
  embedded: boolean;
  onClose?: () => Promise<void>;
  observe?: QueryObserver;
  onNotification?: Database['onNotification'];
}): Database {
  const observed: Observed = { observer: options.observe };
  const scope = new TransactionScope();
  // pool.query hands back (and pg-pool closes) the connection of any statement that failed.
  const pooled = wrap(pool, options.embedded, observed, { scope });
  let closed = false;
  return {
    embedded: options.embedded,
    onNotification: options.onNotification,
    pool,
    query: pooled.query,
    setObserver(observer) {
      observed.observer = observer;
    },
    setWriteObserver(observer) {
      observed.writes = observer;
    },
    async transaction(fn) {
      scope.assertOutside('db.transaction()');
      const started = performance.now();
      let ok = false;
      const client = await pool.connect();
      const writes: string[] = [];
      let broken: Error | undefined;
      const markBroken = (error: Error) => {
        broken ??= error;
      };
      // pg-pool listens for errors only on idle connections; without a listener here, a socket
      // failing between two statements of the transaction would be an uncaught exception.
      client.on('error', markBroken);
      const control = (statement: string) => client.query(statement).catch((error: unknown) => {
        if (!leavesConnectionUsable(error)) markBroken(error as Error);
        throw error;
      });
      try {
        await control('BEGIN');
        const result = await scope.run(() => fn(wrap(client, options.embedded, observed, { pending: writes, onBroken: markBroken })));
        await control('COMMIT');
        ok = true;
        for (const statement of writes) observed.writes?.(statement);
        return result;
      } catch (error) {
        // A connection that stopped answering would only time out once more on ROLLBACK; closing
        // it rolls the transaction back on the server just the same.
        if (!broken) await control('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.off('error', markBroken);
        client.release(broken);
        if (observed.observer) report(observed, 'transaction', started, ok);
      }
    },
    async withConnection(fn) {
      scope.assertOutside('db.withConnection()');
      // The pool's own settings, less the statement deadlines (see the interface).
      const { Client = pg.Client, ...settings } = pool.options as pg.PoolConfig & { Client?: typeof pg.Client };
      const client = new Client({ ...settings, statement_timeout: undefined, query_timeout: undefined });
      client.on('error', () => undefined); // reported to the statement that was waiting
      await client.connect();
      try {
        return await fn(wrap(client, options.embedded, observed));
      } finally {
        await client.end().catch(() => undefined);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
      await options.onClose?.();
    },
  };
}

/** Without `timeouts`, nothing has a deadline (tests' maintenance connections: CREATE DATABASE). */
export function connectPostgres(url: string, max = 10, timeouts?: DatabaseTimeouts): Database {
  const pool = new pg.Pool({ connectionString: url, max, idleTimeoutMillis: 30_000, ...(timeouts ? postgresPoolOptions(timeouts) : {}) });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  return createDatabase(pool, { embedded: false });
}
