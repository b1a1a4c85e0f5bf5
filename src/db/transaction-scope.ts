import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * A query on the pool from inside a transaction's callback is a bug either way: on PostgreSQL it
 * runs on another connection, outside the transaction (it neither sees the uncommitted rows nor
 * rolls back with them); on the embedded database it waits for the transaction, which waits for
 * it. So it fails at once, saying what to do instead.
 */
export class TransactionMisuseError extends Error {
  override name = 'TransactionMisuseError';
}

interface Scope {
  /** False once the transaction has ended: work it started may outlive it and use the pool. */
  open: boolean;
}

/** Marks the async context of one database's transaction callbacks. */
export class TransactionScope {
  readonly #storage = new AsyncLocalStorage<Scope>();

  async run<T>(fn: () => Promise<T>): Promise<T> {
    const scope: Scope = { open: true };
    try {
      return await this.#storage.run(scope, fn);
    } finally {
      scope.open = false;
    }
  }

  /** Throws when called from inside an open transaction's callback; `what` names the call. */
  assertOutside(what: string): void {
    if (this.#storage.getStore()?.open) {
      throw new TransactionMisuseError(
        `${what} was called inside db.transaction(): it would run on another pooled connection, outside the transaction ` +
        '(and wait forever for it on the embedded database). Pass the transaction\'s client (the `tx` handed to the callback) ' +
        'to whatever runs inside it instead of `db`.',
      );
    }
  }
}
