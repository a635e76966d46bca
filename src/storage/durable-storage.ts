import type { AgentDatabase } from "./database.ts";
import {
  inOpenTransaction,
  inTransactionClosure,
  runTransaction,
  type DurableObjectTransaction,
  type TransactionHost,
  type TransactionLine,
} from "./durable-transaction.ts";
import { KvStorage } from "./kv.ts";
import { settle, StorageOperations, type DurableObjectPutOptions, type KvTarget } from "./kv-operations.ts";
import { deleteEntry, listEntries, readEntry, writeEntry } from "./kv-table.ts";
import { SqlStorage } from "./sql.ts";
import { wipeDatabase } from "./wipe.ts";

export { DurableObjectTransaction } from "./durable-transaction.ts";
export type {
  DurableObjectGetAlarmOptions,
  DurableObjectGetOptions,
  DurableObjectListOptions,
  DurableObjectPutOptions,
  DurableObjectSetAlarmOptions,
} from "./kv-operations.ts";

/** The object's one alarm, kept by the host; this class only validates and forwards. */
export interface AlarmSlot {
  /** The alarm's time in ms since the epoch, or null. */
  get(): number | null;
  set(scheduledTime: number): void;
  delete(): void;
}

export interface DurableObjectStorageHooks {
  alarms: AlarmSlot;
  /**
   * Called by `deleteAll()` once the data is gone, inside the same atomic block (a throw undoes the
   * wipe, and the alarm stays): for whatever else the host keeps for the object. The alarm is
   * deleted after it, through {@link AlarmSlot.delete}. What cannot be undone (the facets' files)
   * goes to `afterCommit`: it runs once the wipe is committed, and never if the wipe is rolled back.
   */
  deleteAll?: (afterCommit: (work: () => void) => void) => void;
  /**
   * Runs `fn` with the object's input gate shut to other events, in the caller's context (the host's
   * cell): what `transaction()` runs its closure in. Without it, `fn` just runs.
   */
  criticalSection?: <T>(fn: () => Promise<T>) => Promise<T>;
}

/**
 * `ctx.storage` of a Durable Object, over the object's own SQLite file: the async key-value API
 * (`get`, `put`, `delete`, `list`, batch forms), `transaction`, `transactionSync`, `deleteAll`,
 * `sync`, alarms, `sql` and the synchronous `kv` — which sees the same entries as the async API.
 * @example
 * await ctx.storage.put("count", ((await ctx.storage.get<number>("count")) ?? 0) + 1);
 * const users = await ctx.storage.list({ prefix: "user:", limit: 10 });
 * await ctx.storage.transaction(async (txn) => { await txn.delete("a"); await txn.put("b", 1); });
 */
export class DurableObjectStorage extends StorageOperations {
  readonly sql: SqlStorage;
  readonly kv: KvStorage;
  readonly #db: AgentDatabase;
  readonly #hooks: DurableObjectStorageHooks;
  readonly #direct: KvTarget;
  readonly #transactions: TransactionHost;
  /** Settles when the top-level transaction closure running now ends; undefined when none runs. */
  #running: Promise<void> | undefined;

  constructor(db: AgentDatabase, hooks: DurableObjectStorageHooks) {
    super();
    this.#db = db;
    this.#hooks = hooks;
    this.sql = new SqlStorage(db);
    this.kv = new KvStorage(db);
    const alarms = hooks.alarms;
    this.#direct = {
      read: (key) => readEntry(db, key),
      list: (query) => listEntries(db, query),
      write: (key, value) => writeEntry(db, key, value),
      remove: (key) => deleteEntry(db, key),
      getAlarm: () => alarms.get(),
      setAlarm: (scheduledTime) => alarms.set(scheduledTime),
      deleteAlarm: () => alarms.delete(),
      batch: (fn) => db.transactionSync(fn),
    };
    const line: TransactionLine = { tail: undefined };
    this.#transactions = {
      storage: this,
      db,
      direct: this.#direct,
      line,
      criticalSection: hooks.criticalSection ?? ((fn) => fn()),
      running: (end) => {
        const settled = end.then(
          () => {},
          () => {},
        );
        this.#running = settled;
        void settled.then(() => {
          if (this.#running === settled) this.#running = undefined;
        });
      },
    };
  }

  /**
   * Runs `closure` atomically and alone, as on Cloudflare: no other event of the object runs until it
   * settles (it holds the input gate, even while it awaits outside I/O), and what it writes — through
   * `txn`, directly through this storage, `sql` or `kv` — is kept when it resolves and undone, with the
   * output it sent, when it throws or calls `txn.rollback()`. The promise resolves with the closure's
   * result, or rejects with its error. Inside another transaction it nests.
   */
  transaction<T>(closure: (txn: DurableObjectTransaction) => Promise<T>): Promise<T> {
    return runTransaction(this.#transactions, closure);
  }

  /** Runs `fn` atomically and synchronously (a savepoint); a throw undoes its writes, SQL included. */
  transactionSync<T>(fn: () => T): T {
    return this.#db.transactionSync(fn);
  }

  /**
   * Deletes everything the object stored: every key, every SQL table, index, view and trigger of its
   * own, and its alarm — atomically. Hearth's internal tables (`_hearth_*`) stay, emptied of the
   * object's data. The wipe commits at once, with what the event wrote before it: the facets' files
   * go with it, and no rollback could bring them back, so the wipe stands whatever the event does
   * next (as on Cloudflare). Inside a `transactionSync` block it goes with the block: the facets'
   * files are removed if the block's writes commit, and kept if they are undone.
   */
  deleteAll(_options?: DurableObjectPutOptions): Promise<void> {
    return this.run(() => {
      if (inOpenTransaction(this)) throw new Error("Cannot call deleteAll() within a transaction");
      this.#db.transactionSync(() => {
        wipeDatabase(this.#db);
        this.#hooks.deleteAll?.((work) => this.#db.afterCommit(work));
        this.#hooks.alarms.delete();
      });
      // Committed now, facets removed with it: a facet used after the wipe is a fresh one, not one
      // its files' removal at the end of the event would take away again.
      if (!this.#db.inTransactionSync) this.#db.flush();
    });
  }

  /**
   * Resolves once the writes made so far are committed (rejects if that commit fails). Inside a
   * `transaction()` closure it resolves at once: nothing commits before the closure ends.
   */
  sync(): Promise<void> {
    if (inOpenTransaction(this)) return Promise.resolve();
    return this.#db.whenCommitted() ?? Promise.resolve();
  }

  /** Point-in-time recovery is not supported by Hearth (docs/compat.md). */
  getCurrentBookmark(): Promise<string> {
    return Promise.reject(notSupported("getCurrentBookmark"));
  }

  /** Point-in-time recovery is not supported by Hearth (docs/compat.md). */
  getBookmarkForTime(_timestamp: number | Date): Promise<string> {
    return Promise.reject(notSupported("getBookmarkForTime"));
  }

  /** Point-in-time recovery is not supported by Hearth (docs/compat.md). */
  onNextSessionRestoreBookmark(_bookmark: string): Promise<string> {
    return Promise.reject(notSupported("onNextSessionRestoreBookmark"));
  }

  protected target(_op: string): KvTarget {
    return this.#direct;
  }

  /**
   * While a transaction's closure runs, a call from outside it (an event that was waiting on I/O,
   * code it left running) waits for it to end, as it would for the input gate on Cloudflare.
   */
  protected override run<T>(fn: () => T): Promise<T> {
    const running = this.#running;
    if (running === undefined || inTransactionClosure(this)) return settle(fn);
    return running.then(() => this.run(fn));
  }
}

function notSupported(method: string): Error {
  return new Error(
    `ctx.storage.${method}() is not supported by Hearth: point-in-time recovery (bookmarks) is not implemented; see docs/compat.md`,
  );
}
