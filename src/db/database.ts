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
}

function wrap(client: pg.PoolClient | pg.Pool, embedded: boolean): Queryable {
  return {
    async query<R>(text: string, values?: unknown[], options?: { name?: string }) {
      // PGlite is one backend session behind every pooled connection, so a statement named on
      // one connection already exists for the next and PostgreSQL would refuse it.
      const result = options?.name && !embedded ? await client.query({ name: options.name, text, values: values ?? [] }) : await client.query(text, values);
      return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
    },
  };
}

/**
 * Every database, PostgreSQL or embedded PGlite, is reached through a `pg` pool: the embedded
 * one is served over a unix socket by its owning process (see embedded.ts), so there is one code path.
 */
export function createDatabase(pool: pg.Pool, options: { embedded: boolean; onClose?: () => Promise<void> }): Database {
  const pooled = wrap(pool, options.embedded);
  let closed = false;
  return {
    embedded: options.embedded,
    pool,
    query: pooled.query,
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(wrap(client, options.embedded));
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    async withConnection(fn) {
      const client = await pool.connect();
      try {
        return await fn(wrap(client, options.embedded));
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
