import { AsyncLocalStorage } from "node:async_hooks";
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { setImmediate } from "node:timers"; // Node's own: an application's fake timers must not hold a turn's commit
import { AfterCommitWork } from "./after-commit.ts";
import { dropHeld, sendHeld, type HeldOutput } from "./held-output.ts";
import type { ReleaseQueue } from "./release-queue.ts";
import type { ReplicaLink } from "./replication.ts";
import { endEventOutsideTransaction, LostWrites, outputOutsideTransaction, type TransactionOwner } from "./lost-writes.ts";

const ROLLED_BACK_BY_SQLITE = "SQLite rolled the transaction back (ON CONFLICT ROLLBACK, RAISE(ROLLBACK) or an I/O error)";

const TRANSACTION_SQL = {
  begin: "BEGIN",
  commit: "COMMIT",
  rollback: "ROLLBACK",
  savepoint: "SAVEPOINT hearth_event",
  release: "RELEASE hearth_event",
  rollbackTo: "ROLLBACK TO hearth_event",
} as const;
type TransactionStatement = keyof typeof TRANSACTION_SQL;

export type { TransactionOwner } from "./lost-writes.ts";

/** The savepoint of a running `ctx.storage.transaction()` closure (storage/durable-transaction.ts). */
export interface ExplicitSavepoint {
  /** 1 for a transaction, 2 for one inside it, … */
  readonly depth: number;
  /** False once released, undone, or gone with the whole transaction (a failed commit, a close). */
  alive: boolean;
}

const IN_ANOTHER_TRANSACTION =
  "Storage is inside another event's ctx.storage.transaction(): this statement cannot run until that closure ends (the object's input gate is shut for it; the async key-value API waits for it)";

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
 * event that failed is dropped with its writes. The event that opens the transaction needs no
 * savepoint of its own: nothing else is in it yet, so undoing its writes is undoing the transaction
 * (two statements fewer for an agent's first event of a turn, and for every request to an agent that
 * gets one request a turn).
 */
export class ImplicitTransaction {
  readonly #db: DatabaseSync;
  readonly #currentOwner: () => TransactionOwner;
  readonly #onRollback: () => void;
  /** Prepared at first use: a connection opened for one read (a wake, a reopen after parking) needs none. */
  #prepared: Partial<Record<TransactionStatement, StatementSync>> = {};
  #open = false;
  /** The event whose savepoint is open; writes from outside any event join the transaction directly. */
  #savepointOwner: TransactionOwner;
  /** The savepoint owner opened the transaction and has no SAVEPOINT: its writes are all the transaction holds. */
  #ownsTransaction = false;
  /** Output waiting for the commit; `level`: the depth of the transaction() closure it was made in (0: none). */
  #held: Array<HeldOutput & { owner: TransactionOwner; level: number }> = [];
  /**
   * Savepoints of the transaction() closures open now, outermost first, all of one owner's. While
   * any is open nothing commits: a commit would make half a closure durable.
   */
  #explicit: ExplicitSavepoint[] = [];
  #explicitOwner: TransactionOwner;
  /** Writes waiting for another event's transaction() closure to end ({@link whenWritable}), in their callers' contexts. */
  #writesAfterExplicit: Array<() => void> = [];
  /** Events that finished while their transaction() closure was still open: they end when it does. */
  #endsAfterExplicit: Array<{ owner: TransactionOwner; failed: boolean; later: Deferred }> = [];
  #durable: Deferred | undefined;
  #commitScheduled = false;
  /** Events that wrote in the open transaction; if its commit fails, their writes are gone. */
  #writers = new Set<object>();
  /** Events whose writes were lost while they were still running (shared by the database's connections). */
  readonly #lost: LostWrites;
  /** Set when the database is replicated: commits pass through it before their output leaves. */
  readonly #replica: { link: ReplicaLink; releases: ReleaseQueue } | undefined;
  /** Replication failures when the open transaction began (replicated databases only). */
  #failuresAtBegin = 0;
  /** Runs at the start of every transaction until one commits ({@link writeFirst}). */
  #firstWrite: (() => void) | undefined;
  /** Work waiting for the writes made before it to be durable ({@link afterCommit}). */
  readonly #afterCommit = new AfterCommitWork();

  constructor(
    db: DatabaseSync,
    currentOwner: () => TransactionOwner,
    onRollback: () => void,
    replica?: { link: ReplicaLink; releases: ReleaseQueue },
    lost: LostWrites = new LostWrites(),
  ) {
    this.#db = db;
    this.#currentOwner = currentOwner;
    this.#onRollback = onRollback;
    this.#replica = replica;
    this.#lost = lost;
  }

  /** Runs one of the transaction's own statements, prepared on its first use (most connections need BEGIN and COMMIT only). */
  #run(name: TransactionStatement): void {
    (this.#prepared[name] ??= this.#db.prepare(TRANSACTION_SQL[name])).run();
  }

  /**
   * `write` goes into the next transaction, at its start, and again into the one after it until one
   * commits; before the connection closes it runs on its own if none did. For a new file's own row
   * (its identity), which then costs no commit of its own.
   */
  writeFirst(write: () => void): void {
    this.#firstWrite = write;
  }

  /** A transaction is open (writes or output wait for its commit). */
  get pending(): boolean {
    return this.#open;
  }

  /**
   * Called before every statement: opens the transaction and the running event's savepoint. An event
   * whose writes were lost runs no more statements: it was told they were rolled back, and anything
   * it wrote now could be committed by a later turn.
   */
  join(): void {
    this.#checkAlive();
    const owner = this.#currentOwner();
    const lost = this.#lost.of(owner);
    if (lost !== undefined) throw lost;
    // Another event's transaction() closure is open: its savepoint cannot be committed nor nest this
    // event's writes (they would go if it rolled back). On Cloudflare this code would wait for the gate.
    if (this.#explicit.length > 0 && owner !== this.#explicitOwner) throw new Error(IN_ANOTHER_TRANSACTION);
    // Savepoints nest, they cannot interleave: if another event's savepoint is still open (it is
    // running, awaiting), make its writes so far durable before this event's begin.
    if (owner !== undefined && this.#savepointOwner !== undefined && owner !== this.#savepointOwner) this.commit();
    if (!this.#open) {
      this.#run("begin");
      this.#open = true;
      if (this.#replica !== undefined) this.#failuresAtBegin = this.#replica.releases.failures;
      if (!this.#commitScheduled) {
        this.#commitScheduled = true;
        setImmediate(this.#endOfTurn);
      }
      this.#firstWrite?.();
      // Replicated databases keep a savepoint per event: their log follows every statement.
      if (owner !== undefined && this.#replica === undefined) {
        this.#savepointOwner = owner;
        this.#ownsTransaction = true;
        this.#writers.add(owner);
        return;
      }
    }
    if (owner === undefined || owner === this.#savepointOwner) return;
    this.#run("savepoint");
    this.#savepointOwner = owner;
    this.#ownsTransaction = false;
    this.#writers.add(owner);
  }

  /**
   * Sends now when nothing is pending, else when the transaction commits; never for an event whose
   * writes were lost. Output that will never be sent runs its `dropped` instead (held-output.ts).
   */
  output(send: () => void, dropped?: () => void): void {
    const owner = this.#currentOwner();
    if (!this.#open) outputOutsideTransaction(this.#lost, this.#replica?.releases, owner, { send, dropped });
    else if (this.#lost.of(owner) !== undefined) dropHeld([{ send, dropped }]);
    else this.#held.push({ owner, send, dropped, level: this.#explicit.length > 0 && owner === this.#explicitOwner ? this.#explicit.length : 0 });
  }

  /** Runs `work` once the open transaction commits; dropped with the writes before it if they are undone (after-commit.ts). */
  afterCommit(work: () => void): void {
    if (!this.#open) throw new Error("afterCommit() needs an open transaction");
    const owner = this.#currentOwner();
    this.#afterCommit.add(owner, this.#explicit.length > 0 && owner === this.#explicitOwner ? this.#explicit.length : 0, work);
  }

  /** The after-commit work: a transactionSync block that rolls back drops its own (AgentDatabase.transactionSync). */
  get afterCommitWork(): AfterCommitWork {
    return this.#afterCommit;
  }

  /**
   * Opens a savepoint for a transaction() closure of the running event (`SAVEPOINT hearth_txn_<depth>`).
   * Until it ends nothing commits; other events' statements are refused (the closure holds the gate).
   */
  beginExplicit(): ExplicitSavepoint {
    this.#checkAlive();
    // A savepoint of another event left open under this one would release it with its own.
    if (this.#explicit.length === 0 && this.#currentOwner() === undefined && this.#savepointOwner !== undefined) this.commit();
    this.join();
    const savepoint: ExplicitSavepoint = { depth: this.#explicit.length + 1, alive: true };
    this.#db.exec(`SAVEPOINT hearth_txn_${savepoint.depth}`);
    this.#explicitOwner = this.#currentOwner();
    this.#explicit.push(savepoint);
    return savepoint;
  }

  /**
   * Ends a transaction() closure's savepoint: released into what encloses it (`keep`), or undone with
   * the output made inside it. Savepoints opened inside it and still open end with it. Once the last
   * one ends, events that finished meanwhile end and the commit of the turn follows.
   */
  endExplicit(savepoint: ExplicitSavepoint, keep: boolean): void {
    this.#checkAlive();
    const index = this.#explicit.indexOf(savepoint);
    if (!savepoint.alive || index < 0) {
      // Gone with the whole transaction: a closure that succeeded learns its writes were lost.
      savepoint.alive = false;
      const lost = this.#lost.of(this.#currentOwner());
      if (keep && lost !== undefined) throw lost;
      return;
    }
    for (const ended of this.#explicit.splice(index)) ended.alive = false;
    const { depth } = savepoint;
    this.#afterCommit.closureEnded(depth, keep);
    try {
      if (keep) {
        this.#db.exec(`RELEASE hearth_txn_${depth}`);
        for (const entry of this.#held) if (entry.level >= depth) entry.level = depth - 1;
      } else {
        this.#db.exec(`ROLLBACK TO hearth_txn_${depth}; RELEASE hearth_txn_${depth}`);
        const undone = this.#held.filter((entry) => entry.level >= depth);
        this.#held = this.#held.filter((entry) => entry.level < depth);
        this.#onRollback();
        dropHeld(undone);
      }
    } finally {
      if (this.#explicit.length === 0) this.#explicitEnded();
    }
  }

  /**
   * Runs `write` now (undefined), or — while another event's transaction() closure is open, which
   * refuses the running code's statements — right after the last closure ends, before anything else
   * runs and before the commit that follows, in the caller's context (the promise settles then).
   * For the runtime's own bookkeeping that must not fail for that reason (a fiber's checkpoint, its end).
   */
  whenWritable(write: () => void): Promise<void> | undefined {
    if (this.#explicit.length === 0 || this.#currentOwner() === this.#explicitOwner) {
      write();
      return undefined;
    }
    return new Promise<void>((resolve, reject) => {
      this.#writesAfterExplicit.push(
        AsyncLocalStorage.bind(() => {
          try {
            write();
            resolve();
          } catch (error) {
            reject(error as Error);
          }
        }),
      );
    });
  }

  /** Before the connection closes: a transaction() closure still open never finished, so it is undone; the rest commits. */
  commitBeforeClose(): void {
    if (this.#explicit.length > 0) this.endExplicit(this.#explicit[0]!, false);
    this.commit();
    const write = this.#firstWrite;
    this.#firstWrite = undefined;
    write?.(); // no transaction committed on this connection: on its own
  }

  /** The last open transaction() closure ended (or its savepoints are gone): the events that waited for it end, commits resume. */
  #explicitEnded(): void {
    this.#explicitOwner = undefined;
    const ends = this.#endsAfterExplicit;
    this.#endsAfterExplicit = [];
    for (const { owner, failed, later } of ends) {
      try {
        const durable = this.endEvent(owner, failed);
        if (durable === undefined) later.resolve();
        else durable.then(later.resolve, later.reject);
      } catch (error) {
        later.reject(error);
      }
    }
    const writes = this.#writesAfterExplicit;
    this.#writesAfterExplicit = [];
    for (const write of writes) write();
    if (this.#open && !this.#commitScheduled) {
      this.#commitScheduled = true;
      setImmediate(this.#endOfTurn);
    }
  }

  /** The open savepoints went with a rollback of what encloses them. */
  #dropExplicit(): void {
    if (this.#explicit.length === 0) return;
    for (const savepoint of this.#explicit) savepoint.alive = false;
    this.#explicit = [];
    this.#explicitEnded();
  }

  /**
   * An event finished. Its writes are kept (or undone if it failed). Returns a promise that settles
   * when they are durable, or undefined when nothing is pending.
   */
  endEvent(owner: TransactionOwner, failed: boolean): Promise<void> | undefined {
    this.#checkAlive();
    // Its transaction() closure is still open (not awaited): the event ends, and its output leaves, after it.
    if (this.#explicit.length > 0 && owner !== undefined && owner === this.#explicitOwner) {
      const later = deferred();
      this.#endsAfterExplicit.push({ owner, failed, later });
      return later.promise;
    }
    if (!this.#open && this.#replica !== undefined) return endEventOutsideTransaction(this.#lost, this.#replica.releases, owner, failed);
    // Its writes were lost while it ran (it wrote nothing since: `join` refused it).
    const lost = this.#lost.take(owner);
    if (lost !== undefined && !failed) return Promise.reject(lost);
    if (owner !== undefined && owner === this.#savepointOwner) {
      if (failed) this.#rollbackEvent();
      else {
        if (!this.#ownsTransaction) this.#run("release");
        this.#savepointOwner = undefined;
        this.#ownsTransaction = false;
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
    if (!this.#open) return this.#replica?.releases.whenReleased(undefined);
    this.#durable ??= deferred();
    return this.#durable.promise;
  }

  /** Undoes the running event's writes now (before an error reply leaves). */
  rollbackCurrent(): void {
    this.#checkAlive();
    const owner = this.#currentOwner();
    if (owner !== undefined && owner === this.#savepointOwner) this.#rollbackEvent();
  }

  /**
   * Commits now (end of turn, an event waiting on outside I/O, close). Not while a transaction()
   * closure is open: the commit follows its end.
   */
  commit(): void {
    if (!this.#open || this.#explicit.length > 0) return;
    try {
      if (!this.#db.isTransaction) throw new Error(ROLLED_BACK_BY_SQLITE);
      if (this.#savepointOwner !== undefined && !this.#ownsTransaction) this.#run("release");
      this.#savepointOwner = undefined;
      this.#ownsTransaction = false;
      this.#replica?.link.beforeCommit();
      this.#run("commit");
    } catch (error) {
      throw this.#lose(error);
    }
    this.#firstWrite = undefined;
    const durable = this.#durable;
    this.#durable = undefined;
    this.#open = false;
    this.#afterCommit.run();
    if (this.#replica !== undefined) return this.#replicate(durable);
    this.#writers.clear();
    this.#sendHeld();
    durable?.resolve();
  }

  /** After the local COMMIT of a replicated database: output and waiters go once the log has it. */
  #replicate(durable: Deferred | undefined): void {
    const { link, releases } = this.#replica!;
    const writers = [...this.#writers];
    this.#writers.clear();
    let replicated: Promise<void> | undefined;
    try {
      replicated = link.committed();
    } catch (error) {
      replicated = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    if (replicated === undefined && releases.idle && releases.failures === this.#failuresAtBegin) {
      this.#sendHeld();
      durable?.resolve();
      return;
    }
    const held = this.#held;
    this.#held = [];
    releases.add(replicated ?? Promise.resolve(), held, durable, writers, this.#failuresAtBegin);
  }

  readonly #endOfTurn = (): void => {
    this.#commitScheduled = false;
    try {
      this.commit();
    } catch (error) {
      console.error("[hearth] commit failed; the turn's writes were rolled back:", error);
    }
  };

  /**
   * The transaction is open in this object's books but SQLite has none: it rolled it back on its own
   * (an `ON CONFLICT ROLLBACK`, a trigger's `RAISE(ROLLBACK)`, a full disk) inside an event that
   * caught the error. Every write of it is gone: its writers' events fail, its waiters are rejected,
   * its output is dropped — as when a commit fails — and nothing more runs outside a transaction.
   */
  /**
   * Throws when SQLite undid the open transaction on its own (see below): the running event's error
   * (its writes are lost, as its later statements and its end are told), else that one's cause.
   * For a caller that swallowed the statement's error and goes on (`transactionSync`).
   */
  throwIfRolledBack(): void {
    if (!this.#open || this.#db.isTransaction) return;
    this.noticeRollback();
    throw this.#lost.of(this.#currentOwner()) ?? new Error(ROLLED_BACK_BY_SQLITE);
  }

  /** Takes note now if SQLite undid the open transaction on its own (its writers lost, the caches dropped), as the next statement would. */
  noticeRollback(): void {
    this.#checkAlive();
  }

  #checkAlive(): void {
    if (this.#open && !this.#db.isTransaction) this.#lose(new Error(ROLLED_BACK_BY_SQLITE));
  }

  /** The open transaction is gone (its commit failed, or SQLite rolled it back): returns the error its writers and waiters get. */
  #lose(cause: unknown): Error {
    const lost = new Error(`Commit failed, this event's writes were rolled back: ${(cause as Error).message}`, { cause });
    const durable = this.#durable;
    this.#durable = undefined;
    for (const writer of this.#writers) this.#lost.mark(writer, lost);
    this.#abandon();
    durable?.reject(lost);
    return lost;
  }

  #rollbackEvent(): void {
    const failed = this.#savepointOwner;
    if (this.#ownsTransaction) {
      // Its writes are the whole transaction: undo it, and open the next as the turn expects.
      this.#run("rollback");
      this.#run("begin");
      this.#firstWrite?.();
    } else {
      this.#run("rollbackTo");
      this.#run("release");
    }
    this.#savepointOwner = undefined;
    this.#ownsTransaction = false;
    this.#onRollback();
    const undone = this.#held.filter((entry) => entry.owner === failed);
    this.#held = this.#held.filter((entry) => entry.owner !== failed);
    this.#afterCommit.dropOwner(failed);
    this.#dropExplicit();
    dropHeld(undone);
  }

  /** A commit failed (disk full, I/O error): nothing of the turn happened. */
  #abandon(): void {
    this.#open = false;
    this.#writers.clear();
    this.#savepointOwner = undefined;
    this.#ownsTransaction = false;
    const undone = this.#held;
    this.#held = [];
    this.#afterCommit.clear();
    try {
      this.#db.exec("ROLLBACK");
    } catch {
      // SQLite may already have rolled back.
    }
    this.#onRollback();
    this.#dropExplicit();
    dropHeld(undone);
  }

  #sendHeld(): void {
    if (this.#held.length === 0) return;
    const held = this.#held;
    this.#held = [];
    for (const output of held) sendHeld(output);
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
