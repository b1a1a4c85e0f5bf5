import pg from 'pg';

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
  /** Runs fn inside BEGIN/COMMIT on one connection; rolls back when fn throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Runs fn on one dedicated connection (session-level advisory locks need that). */
  withConnection<T>(fn: (client: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** True when this is the embedded PGlite database. */
  readonly embedded: boolean;
  /** The pg pool underneath, for libraries that take one (rate-limiter-flexible). */
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

/** `pending`: inside a transaction, the writes to report once it commits. */
function wrap(client: pg.PoolClient | pg.Pool, embedded: boolean, observed: Observed, pending?: string[]): Queryable {
  return {
    async query<R>(text: string, values?: unknown[], options?: { name?: string }) {
      const started = performance.now();
      let ok = false;
      try {
        // PGlite is one backend session behind every pooled connection, so a statement named on
        // one connection already exists for the next and PostgreSQL would refuse it.
        const result = options?.name && !embedded ? await client.query({ name: options.name, text, values: values ?? [] }) : await client.query(text, values);
        ok = true;
        if (observed.writes && isWrite(result)) {
          if (pending) pending.push(text);
          else observed.writes(text);
        }
        return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
      } finally {
        if (observed.observer) report(observed, options?.name ?? 'query', started, ok);
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
  const pooled = wrap(pool, options.embedded, observed);
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
      const started = performance.now();
      let ok = false;
      const client = await pool.connect();
      const writes: string[] = [];
      try {
        await client.query('BEGIN');
        const result = await fn(wrap(client, options.embedded, observed, writes));
        await client.query('COMMIT');
        ok = true;
        for (const statement of writes) observed.writes?.(statement);
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
        if (observed.observer) report(observed, 'transaction', started, ok);
      }
    },
    async withConnection(fn) {
      const client = await pool.connect();
      try {
        return await fn(wrap(client, options.embedded, observed));
      } finally {
        client.release();
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

export function connectPostgres(url: string, max = 10): Database {
  const pool = new pg.Pool({ connectionString: url, max, idleTimeoutMillis: 30_000 });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  return createDatabase(pool, { embedded: false });
}
