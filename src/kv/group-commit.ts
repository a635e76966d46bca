import type { DatabaseSync } from "node:sqlite";
import { setImmediate } from "node:timers"; // Node's own: never an application's fake one

/**
 * Writes of one turn of the event loop share one transaction. The first write opens it, a
 * `setImmediate` commits it, and every write of the turn resolves together once the commit is done,
 * so a write is durable when its promise resolves, and many concurrent writers pay for one commit.
 * Reads on the same connection see the writes at once (strong consistency within the process).
 */
export class GroupCommit {
  readonly #db: DatabaseSync;
  #batch: Batch | undefined;

  constructor(db: DatabaseSync) {
    this.#db = db;
  }

  /**
   * Runs `apply` (SQL statements) now, inside the turn's transaction. Resolves when the transaction is
   * committed; rejects with `apply`'s error (its statement is undone by SQLite, the others stay) or
   * with the commit's error (the whole turn's writes are undone).
   */
  write(apply: () => void): Promise<void> {
    const batch = this.#open();
    try {
      apply();
    } catch (error) {
      // Some errors (disk full, I/O) make SQLite roll back the whole transaction: the turn's earlier
      // writes are gone, so their writers must hear it now, not get a commit of nothing.
      if (!this.#db.isTransaction && this.#batch === batch) {
        this.#batch = undefined;
        batch.reject(error);
      }
      return Promise.reject(error);
    }
    return batch.promise;
  }

  /** Commits the open transaction now, if there is one. */
  flush(): void {
    const batch = this.#batch;
    if (batch === undefined) return;
    this.#batch = undefined;
    try {
      this.#db.exec("COMMIT");
      batch.resolve();
    } catch (error) {
      try {
        this.#db.exec("ROLLBACK");
      } catch {
        // SQLite may have rolled back already (e.g. on SQLITE_FULL); nothing more to undo.
      }
      batch.reject(error);
    }
  }

  #open(): Batch {
    if (this.#batch !== undefined) return this.#batch;
    this.#db.exec("BEGIN");
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    // A commit failure is reported to every writer; none of them must crash the process unawaited.
    promise.catch(() => {});
    const batch: Batch = { promise, resolve, reject };
    this.#batch = batch;
    setImmediate(() => {
      if (this.#batch === batch) this.flush();
    });
    return batch;
  }
}

interface Batch {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}
