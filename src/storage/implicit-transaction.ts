import type { DatabaseSync, StatementSync } from "node:sqlite";

/** Identifies who is writing, so one event's failure rolls back only its own writes. */
export type TransactionOwner = object | undefined;

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Group commit with per-event savepoints, and the output gate.
 *
 * The first statement of a turn of the event loop opens a transaction; it commits once, at the end of
 * the turn, for every event that ran in it (one WAL append — and with strict durability one fsync —
 * for a whole batch of requests). Each event's writes sit in a savepoint: released when the event
 * succeeds, rolled back when it fails, so a failing event leaves no trace and takes nothing of its
 * neighbours with it. Output (WebSocket frames, an event's result) waits for the commit; output of an
 * event that failed is dropped with its writes.
 */
export class ImplicitTransaction {
  readonly #db: DatabaseSync;
  readonly #currentOwner: () => TransactionOwner;
  readonly #onRollback: () => void;
  readonly #sql: Record<"begin" | "commit" | "savepoint" | "release" | "rollbackTo", StatementSync>;
  #open = false;
  /** The event whose savepoint is open; writes from outside any event join the transaction directly. */
  #savepointOwner: TransactionOwner;
  #held: Array<{ owner: TransactionOwner; send: () => void }> = [];
  #durable: Deferred | undefined;
  #commitScheduled = false;
  /** Events that wrote in the open transaction; if its commit fails, their writes are gone. */
  #writers = new Set<object>();
  /** Events whose writes were lost to a failed commit while they were still running. */
  #lost = new WeakMap<object, unknown>();

  constructor(db: DatabaseSync, currentOwner: () => TransactionOwner, onRollback: () => void) {
    this.#db = db;
    this.#currentOwner = currentOwner;
    this.#onRollback = onRollback;
    this.#sql = {
      begin: db.prepare("BEGIN"),
      commit: db.prepare("COMMIT"),
      savepoint: db.prepare("SAVEPOINT hearth_event"),
      release: db.prepare("RELEASE hearth_event"),
      rollbackTo: db.prepare("ROLLBACK TO hearth_event"),
    };
  }

  /** Called before every statement: opens the transaction and the running event's savepoint. */
  join(): void {
    const owner = this.#currentOwner();
    // Savepoints nest, they cannot interleave: if another event's savepoint is still open (it is
    // running, awaiting), make its writes so far durable before this event's begin.
    if (owner !== undefined && this.#savepointOwner !== undefined && owner !== this.#savepointOwner) this.commit();
    if (!this.#open) {
      this.#sql.begin.run();
      this.#open = true;
      if (!this.#commitScheduled) {
        this.#commitScheduled = true;
        setImmediate(this.#endOfTurn);
      }
    }
    if (owner === undefined || owner === this.#savepointOwner) return;
    this.#sql.savepoint.run();
    this.#savepointOwner = owner;
    this.#writers.add(owner);
  }

  /** Sends now when nothing is pending, else when the transaction commits. */
  output(send: () => void): void {
    if (!this.#open) send();
    else this.#held.push({ owner: this.#currentOwner(), send });
  }

  /**
   * An event finished. Its writes are kept (or undone if it failed). Returns a promise that settles
   * when they are durable, or undefined when nothing is pending.
   */
  endEvent(owner: TransactionOwner, failed: boolean): Promise<void> | undefined {
    if (owner !== undefined && this.#lost.has(owner)) {
      const error = this.#lost.get(owner);
      this.#lost.delete(owner);
      if (!failed) return Promise.reject(error);
    }
    if (owner !== undefined && owner === this.#savepointOwner) {
      if (failed) this.#rollbackEvent();
      else {
        this.#sql.release.run();
        this.#savepointOwner = undefined;
      }
    }
    if (!this.#open) return undefined;
    this.#durable ??= deferred();
    return this.#durable.promise;
  }

  /**
   * Settles when the open transaction commits (rejects if that commit fails), whoever wrote in it;
   * undefined when nothing is pending.
   */
  committed(): Promise<void> | undefined {
    if (!this.#open) return undefined;
    this.#durable ??= deferred();
    return this.#durable.promise;
  }

  /** Undoes the running event's writes now (before an error reply leaves). */
  rollbackCurrent(): void {
    const owner = this.#currentOwner();
    if (owner !== undefined && owner === this.#savepointOwner) this.#rollbackEvent();
  }

  /** Commits now (end of turn, an event waiting on outside I/O, close). */
  commit(): void {
    if (!this.#open) return;
    const durable = this.#durable;
    this.#durable = undefined;
    try {
      if (this.#savepointOwner !== undefined) this.#sql.release.run();
      this.#savepointOwner = undefined;
      this.#sql.commit.run();
    } catch (error) {
      const lost = new Error(`Commit failed, this event's writes were rolled back: ${(error as Error).message}`, { cause: error });
      for (const writer of this.#writers) this.#lost.set(writer, lost);
      this.#abandon();
      durable?.reject(lost);
      throw lost;
    }
    this.#open = false;
    this.#writers.clear();
    this.#sendHeld();
    durable?.resolve();
  }

  readonly #endOfTurn = (): void => {
    this.#commitScheduled = false;
    try {
      this.commit();
    } catch (error) {
      console.error("[hearth] commit failed; the turn's writes were rolled back:", error);
    }
  };

  #rollbackEvent(): void {
    const failed = this.#savepointOwner;
    this.#sql.rollbackTo.run();
    this.#sql.release.run();
    this.#savepointOwner = undefined;
    this.#onRollback();
    this.#held = this.#held.filter((entry) => entry.owner !== failed);
  }

  /** A commit failed (disk full, I/O error): nothing of the turn happened. */
  #abandon(): void {
    this.#open = false;
    this.#writers.clear();
    this.#savepointOwner = undefined;
    this.#held = [];
    try {
      this.#db.exec("ROLLBACK");
    } catch {
      // SQLite may already have rolled back.
    }
    this.#onRollback();
  }

  #sendHeld(): void {
    if (this.#held.length === 0) return;
    const held = this.#held;
    this.#held = [];
    for (const { send } of held) {
      try {
        send();
      } catch (error) {
        console.error("[hearth] sending held output failed:", error);
      }
    }
  }
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {}); // rejections are delivered to each waiter; never unhandled here
  return { promise, resolve, reject };
}
