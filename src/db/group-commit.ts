import type { DatabaseSync } from 'node:sqlite';

/**
 * Group commit on one node:sqlite connection: the first write of an event-loop turn opens
 * `BEGIN IMMEDIATE` and schedules one `COMMIT` with setImmediate, and every write made before it
 * runs joins that transaction. A commit costs a WAL append (and, now and then, a checkpoint); the
 * statements themselves cost microseconds, so concurrent requests share the expensive part.
 *
 * Each write runs synchronously, at once, inside a savepoint: it is atomic on its own (a write
 * that throws is undone and the others of its turn go on), and its promise settles only with
 * the transaction: resolved once the COMMIT succeeded, rejected if it failed, in which case the
 * whole group was rolled back and none of it is stored.
 */
export interface GroupCommit {
  /**
   * Runs fn now, inside this turn's transaction, and resolves with what it returned once that
   * transaction is committed. fn must be synchronous and must not call write itself.
   */
  write<T>(fn: () => T): Promise<T>;
  /** Commits what is pending now rather than at the end of the turn (before closing). */
  flush(): void;
  /** How many transactions have committed on this connection. */
  readonly commits: number;
}

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

export class GroupRolledBackError extends Error {
  override name = 'GroupRolledBackError';
}

export function createGroupCommit(db: DatabaseSync): GroupCommit {
  // IMMEDIATE takes the write lock up front: a deferred transaction that reads first and then
  // writes can fail with SQLITE_BUSY mid-way when another process wrote meanwhile, whatever the
  // busy timeout.
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const rollback = db.prepare('ROLLBACK');
  const savepoint = db.prepare('SAVEPOINT write');
  const release = db.prepare('RELEASE write');
  const rollbackTo = db.prepare('ROLLBACK TO write');

  /** The writes waiting for the open transaction; null while none is open. */
  let group: Waiter[] | null = null;
  let scheduled: NodeJS.Immediate | null = null;
  let commits = 0;

  function take(): Waiter[] {
    const waiting = group ?? [];
    group = null;
    if (scheduled) clearImmediate(scheduled);
    scheduled = null;
    return waiting;
  }

  function commitGroup(): void {
    if (!group) return;
    const waiting = take();
    try {
      commit.run();
      commits++;
    } catch (error) {
      // A failed COMMIT can leave the transaction open (a deferred constraint) or have ended it
      // already (an I/O error): end it either way, so nothing of the group is kept.
      if (db.isTransaction) {
        try {
          rollback.run();
        } catch {
          // The connection is broken; the next BEGIN reports it.
        }
      }
      for (const waiter of waiting) waiter.reject(error);
      return;
    }
    for (const waiter of waiting) waiter.resolve();
  }

  /** SQLite rolled the whole transaction back by itself (SQLITE_FULL, IOERR, NOMEM...): the group's writes are lost. */
  function groupLost(cause: unknown): void {
    const lost = new GroupRolledBackError('the provider state transaction was rolled back', { cause });
    for (const waiter of take()) waiter.reject(lost);
  }

  return {
    write<T>(fn: () => T): Promise<T> {
      try {
        if (!group) {
          begin.run();
          group = [];
          scheduled = setImmediate(commitGroup);
        }
        let marked = false;
        let result: T;
        try {
          savepoint.run();
          marked = true;
          result = fn();
          release.run();
        } catch (error) {
          if (!db.isTransaction) groupLost(error);
          else if (marked) {
            rollbackTo.run();
            release.run();
          }
          throw error;
        }
        const waiting = group;
        return new Promise<T>((resolve, reject) => {
          waiting.push({ resolve: () => resolve(result), reject });
        });
      } catch (error) {
        return Promise.reject(error);
      }
    },
    flush: commitGroup,
    get commits() {
      return commits;
    },
  };
}
