import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { LRUCache } from 'lru-cache';
import { createGroupCommit, type GroupCommit } from './group-commit.ts';

/**
 * oidc-provider's state (sessions, grants, codes, tokens, interactions) and the rate-limit
 * counters (src/security/counters-sqlite.ts) in embedded mode: a SQLite file in DATA_DIR through
 * node:sqlite, beside PGlite, which keeps everything else. A statement here costs microseconds
 * where one through PGlite costs most of a millisecond of the event loop, and token requests
 * write several. WAL lets every process using the DATA_DIR open
 * the file at once: the server, and the CLI beside it (`idp user disable` revokes sessions
 * while the server runs). synchronous=NORMAL: in WAL mode COMMIT writes the WAL without waiting
 * for an fsync, so a killed process loses nothing committed; only a power cut or an OS crash can
 * lose the last commits (never corrupt the file), which for provider state means signing in again.
 */

export const PROVIDER_STATE_FILE = 'provider-state.sqlite';

/**
 * Kept in the file's `user_version`; a new layout gets the next number and its step in ensureSchema.
 * 2 added rate_limits (every statement of SCHEMA is IF NOT EXISTS, so it upgrades a 1 as it is).
 */
const SCHEMA_VERSION = 2;

// node:sqlite waits for another process's write lock synchronously, blocking this process's
// event loop meanwhile, so the wait must stay short. Writers hold the lock for one event-loop
// turn (group commit) or one CLI command's revocation, far below this; past it a call fails
// rather than freeze every request.
const BUSY_TIMEOUT_MS = 2_000;

// Times are epoch milliseconds from the caller's clock (Date.now()), never SQLite's, so expiry
// follows the same clock as oidc-provider. STRICT: a wrong type fails instead of being stored.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS oidc_payloads (
  model text NOT NULL,
  id text NOT NULL,
  payload text NOT NULL,
  grant_id text,
  account_id text,
  uid text,
  user_code text,
  expires_at integer,
  consumed_at integer,
  PRIMARY KEY (model, id)
) STRICT;
CREATE INDEX IF NOT EXISTS oidc_payloads_grant_idx ON oidc_payloads (grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS oidc_payloads_account_idx ON oidc_payloads (account_id) WHERE account_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS oidc_payloads_uid_idx ON oidc_payloads (model, uid) WHERE uid IS NOT NULL;
CREATE INDEX IF NOT EXISTS oidc_payloads_user_code_idx ON oidc_payloads (model, user_code) WHERE user_code IS NOT NULL;
CREATE INDEX IF NOT EXISTS oidc_payloads_expires_idx ON oidc_payloads (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS rate_limits (
  key text PRIMARY KEY,
  points integer NOT NULL,
  expire integer NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS rate_limits_expire_idx ON rate_limits (expire);
`;

// The sweep deletes this many rows per transaction, so a large backlog never holds the event
// loop (or the write lock) for long: other requests' writes run between the batches.
const SWEEP_BATCH = 500;
const SWEEP = 'DELETE FROM oidc_payloads WHERE rowid IN (SELECT rowid FROM oidc_payloads WHERE expires_at <= ? LIMIT ?)';
const SWEEP_LIMITS = 'DELETE FROM rate_limits WHERE rowid IN (SELECT rowid FROM rate_limits WHERE expire <= ? LIMIT ?)';

// cachedRead's memory: records, and bytes of their text.
const READ_CACHE_ENTRIES = 5_000;
const READ_CACHE_BYTES = 16 * 1024 * 1024;
// Changes whenever another connection commits to the file (https://sqlite.org/pragma.html#pragma_data_version).
const DATA_VERSION = 'PRAGMA data_version';

/** Rows past expires_at are invisible to every read; `?` is the caller's now (epoch ms). */
export const UNEXPIRED = '(expires_at IS NULL OR expires_at > ?)';

export class ProviderStateError extends Error {
  override name = 'ProviderStateError';
}

export interface ProviderStateFile {
  readonly path: string;
  /** Opens the file now rather than on first use: a server does at start-up, so a bad file stops it there. */
  open(): void;
  /** The prepared statement for this SQL text, prepared once per connection. Reads run on it directly. */
  statement(sql: string): StatementSync;
  /** See GroupCommit.write: runs fn now in this turn's transaction, resolves once that committed. */
  write<T>(fn: () => T): Promise<T>;
  /**
   * One record by a key of the caller's (model and id, say): `read` runs the query, which returns
   * the stored text and its expiry (epoch ms, null: none), or undefined for no such record. The
   * answer is kept in memory and served again (not past its expiry) for as long as nothing can
   * have changed the file: every write through this process clears what is kept, before it and
   * again once it has committed or failed, and nothing read while one is in flight is kept; a
   * commit by any other connection (the CLI, another process) changes SQLite's data_version,
   * which is checked on every read while anything is kept, and clears it too. So a read answers exactly as the query
   * would. Introspection and userinfo, which write nothing, then cost a Map lookup per record
   * instead of a statement (about 15 µs each under load).
   */
  cachedRead(key: string, read: () => { text: string; expiresAt: number | null } | undefined): string | undefined;
  /** How many transactions this process has committed on the file: fewer than writes when they share them. */
  readonly commits: number;
  /** Deletes the records and rate-limit counters that expired by `now`; returns how many. Called periodically by the server. */
  deleteExpired(now?: number): Promise<number>;
  /** Commits what is pending and closes the file; any later call fails. */
  close(): void;
}

function connect(path: string): DatabaseSync {
  // Created 0600 before SQLite opens it: SQLite gives the -wal and -shm files the same permissions.
  closeSync(openSync(path, 'a', 0o600));
  const db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS });
  try {
    // A filesystem without shared memory (some network mounts) answers with another mode instead of failing.
    const mode = (db.prepare('PRAGMA journal_mode = WAL').get() as { journal_mode?: string } | undefined)?.journal_mode;
    if (mode !== 'wal') throw new ProviderStateError(`${path}: SQLite cannot use WAL mode here (got ${mode ?? 'nothing'}); put DATA_DIR on a local filesystem`);
    db.exec('PRAGMA synchronous = NORMAL');
    ensureSchema(db, path);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function ensureSchema(db: DatabaseSync, path: string): void {
  const version = () => (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version;
  if (version() === SCHEMA_VERSION) return;
  // Under the write lock, so two processes opening a new file at once create it one after the other.
  db.exec('BEGIN IMMEDIATE');
  try {
    const found = version();
    if (found > SCHEMA_VERSION) {
      throw new ProviderStateError(`${path} has schema version ${found}, newer than this version of idp knows (${SCHEMA_VERSION}): run the newer version, or move the file away (everyone signs in again)`);
    }
    db.exec(SCHEMA);
    db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);
    db.exec('COMMIT');
  } catch (error) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw error;
  }
}

/** The provider state file in dataDir (which must exist); nothing touches the disk before first use or open(). */
export function createProviderStateFile(dataDir: string): ProviderStateFile {
  const path = join(dataDir, PROVIDER_STATE_FILE);
  let connection: { db: DatabaseSync; group: GroupCommit; statements: Map<string, StatementSync> } | null = null;
  let closed = false;
  // Kept across close(), so it counts the file's whole life in this process.
  let committedBefore = 0;

  function opened(): NonNullable<typeof connection> {
    if (connection) return connection;
    if (closed) throw new ProviderStateError(`${path} is closed`);
    const db = connect(path);
    connection = { db, group: createGroupCommit(db), statements: new Map() };
    return connection;
  }

  function statement(sql: string): StatementSync {
    const { db, statements } = opened();
    let prepared = statements.get(sql);
    if (!prepared) {
      prepared = db.prepare(sql);
      statements.set(sql, prepared);
    }
    return prepared;
  }

  // What cachedRead keeps: the text, or null for a record that is not there.
  const kept = new LRUCache<string, { text: string | null; expiresAt: number | null }>({
    max: READ_CACHE_ENTRIES,
    maxSize: READ_CACHE_BYTES,
    sizeCalculation: (value, key) => key.length + (value.text?.length ?? 0) + 64,
  });
  let writesInFlight = 0;
  let seenVersion: number | null = null;
  const forgetAll = () => {
    if (kept.size) kept.clear();
  };

  function write<T>(fn: () => T): Promise<T> {
    writesInFlight++;
    forgetAll();
    const settled = () => {
      writesInFlight--;
      forgetAll();
    };
    let written: Promise<T>;
    try {
      written = opened().group.write(fn);
    } catch (error) {
      settled();
      return Promise.reject(error);
    }
    written.then(settled, settled);
    return written;
  }

  function cachedRead(key: string, read: () => { text: string; expiresAt: number | null } | undefined): string | undefined {
    // Only when something is kept: a statement as dear as the read itself, on flows that write
    // (and so keep nothing) it would be pure cost. Skipping it is safe, as the version only
    // grows: whatever is kept meanwhile was read after the last check, and the next check
    // clears it if any commit came since that check.
    if (kept.size > 0) {
      const version = (statement(DATA_VERSION).get() as { data_version: number }).data_version;
      if (version !== seenVersion) {
        forgetAll();
        seenVersion = version;
      }
    }
    const held = kept.get(key);
    if (held !== undefined && (held.expiresAt === null || held.expiresAt > Date.now())) return held.text ?? undefined;
    const row = read();
    if (writesInFlight === 0) kept.set(key, row ?? { text: null, expiresAt: null });
    return row?.text;
  }

  return {
    path,
    open: () => void opened(),
    statement,
    write,
    cachedRead,
    get commits() {
      return committedBefore + (connection?.group.commits ?? 0);
    },
    async deleteExpired(now = Date.now()) {
      let removed = 0;
      for (const sweep of [SWEEP, SWEEP_LIMITS]) {
        for (;;) {
          const batch = await write(() => Number(statement(sweep).run(now, SWEEP_BATCH).changes));
          removed += batch;
          if (batch < SWEEP_BATCH) break;
        }
      }
      return removed;
    },
    close() {
      closed = true;
      if (!connection) return;
      const { db, group } = connection;
      connection = null;
      try {
        group.flush();
      } finally {
        committedBefore += group.commits;
        // Closing the last connection checkpoints the WAL into the file and removes -wal and -shm.
        db.close();
      }
    },
  };
}
