import { AsyncLocalStorage } from "node:async_hooks";
import type { AgentDatabase, ExplicitSavepoint } from "./database.ts";
import { StorageOperations, type KvTarget } from "./kv-operations.ts";

/** Transactions that run one after another: the end of the last one started, while one runs. */
export interface TransactionLine {
  tail: Promise<void> | undefined;
}

/** @internal What a running transaction's `txn` works on. */
export interface TransactionState {
  /** Its savepoint; undefined once the closure has finished (committed, or thrown). */
  savepoint: ExplicitSavepoint | undefined;
  rolledBack: boolean;
  /** Transactions started inside its closure: one at a time, each inside its savepoint. */
  readonly children: TransactionLine;
}

interface TransactionScope {
  /** The storage whose `transaction()` opened it. */
  readonly storage: object;
  readonly state: TransactionState;
}

/** What a transaction runs over: the storage's database, where its calls land, and its input gate. */
export interface TransactionHost {
  readonly storage: object;
  readonly db: AgentDatabase;
  /** The key-value and alarm operations on the database (the storage's own). */
  readonly direct: KvTarget;
  /** Top-level transactions one at a time (across events too: one that waited on I/O, code without an event). */
  readonly line: TransactionLine;
  /** Runs `fn` with the object's input gate shut to other events, in the caller's context. */
  criticalSection<T>(fn: () => Promise<T>): Promise<T>;
  /** A top-level closure started running: what waits for it (the async API of code outside it) waits for `end`. */
  running(end: Promise<unknown>): void;
}

/** The transaction whose closure is running, followed across its awaits. */
const scopes = new AsyncLocalStorage<TransactionScope>();

/**
 * Whether the current code runs inside a `transaction()` closure of `storage` (including one that
 * called `rollback()`, and code it left running after it ended).
 */
export function inTransactionClosure(storage: object): boolean {
  return scopes.getStore()?.storage === storage;
}

/**
 * Whether the current code runs inside a `transaction()` closure of `storage` that is still open
 * and not rolled back: its direct `ctx.storage` calls are part of it.
 */
export function inOpenTransaction(storage: object): boolean {
  const scope = scopes.getStore();
  return scope?.storage === storage && scope.state.savepoint !== undefined && !scope.state.rolledBack;
}

/**
 * The `txn` handed to a `ctx.storage.transaction()` closure: the same `get`, `put`, `delete`,
 * `list` and alarm methods, working on the transaction, plus `rollback()`.
 * @example
 * await ctx.storage.transaction(async (txn) => {
 *   const balance = (await txn.get<number>("balance")) ?? 0;
 *   if (balance < 10) txn.rollback();
 *   else await txn.put("balance", balance - 10);
 * });
 */
export class DurableObjectTransaction extends StorageOperations {
  readonly #state: TransactionState;
  readonly #host: TransactionHost;

  /** @internal Made by `DurableObjectStorage.transaction`. */
  constructor(state: TransactionState, host: TransactionHost) {
    super();
    this.#state = state;
    this.#host = host;
  }

  /**
   * Undoes the transaction's writes, SQL included, and the output sent in it: the closure goes on,
   * `transaction()` resolves with its result, and every later call on `txn` throws. Calling it again
   * does nothing.
   */
  rollback(): void {
    if (this.#state.rolledBack) return;
    this.target("rollback()");
    this.#state.rolledBack = true;
    this.#host.db.endTransaction(this.#state.savepoint!, false);
  }

  /** Not allowed in a transaction (workerd's error). */
  deleteAll(): never {
    throw new Error("Cannot call deleteAll() within a transaction");
  }

  protected target(op: string): KvTarget {
    if (this.#state.rolledBack) throw new Error(`Cannot ${op} on rolled back transaction`);
    if (this.#state.savepoint === undefined) {
      throw new Error(`Cannot call ${op} on transaction that has already committed: did you move \`txn\` outside of the closure?`);
    }
    return this.#host.direct;
  }
}

/**
 * Runs `closure` as a transaction: a critical section of the object (no other event runs until it
 * settles) whose writes — key-value, alarm and SQL — sit in a savepoint of their own, released when
 * its promise resolves and rolled back when it rejects or calls `txn.rollback()`. Inside another
 * transaction's closure it runs in place, nested in that one's savepoint, after the transactions
 * started there before it.
 */
export function runTransaction<T>(host: TransactionHost, closure: (txn: DurableObjectTransaction) => T | Promise<T>): Promise<T> {
  if (typeof closure !== "function") {
    return Promise.reject(new TypeError("transaction() takes a function: transaction(async (txn) => { … })"));
  }
  const parent = scopes.getStore();
  if (parent?.storage === host.storage && parent.state.savepoint !== undefined) {
    return inLine(parent.state.children, () => runClosure(host, closure));
  }
  return inLine(host.line, () =>
    host.criticalSection(() => {
      const run = runClosure(host, closure);
      host.running(run);
      return run;
    }),
  );
}

async function runClosure<T>(host: TransactionHost, closure: (txn: DurableObjectTransaction) => T | Promise<T>): Promise<T> {
  const savepoint = host.db.beginTransaction();
  const state: TransactionState = { savepoint, rolledBack: false, children: { tail: undefined } };
  let value: T | undefined;
  let failure: { error: unknown } | undefined;
  try {
    value = await scopes.run({ storage: host.storage, state }, () => closure(new DurableObjectTransaction(state, host)));
  } catch (error) {
    failure = { error };
  }
  // Transactions it started and did not wait for end first: their savepoints are inside its own.
  while (state.children.tail !== undefined) await state.children.tail;
  state.savepoint = undefined;
  if (failure !== undefined) state.rolledBack = true;
  // After rollback() its savepoint is gone already; ending it again does nothing.
  host.db.endTransaction(savepoint, failure === undefined && !state.rolledBack);
  if (failure !== undefined) throw failure.error;
  return value as T;
}

/** Starts `start` once the transaction started on `line` before it has settled (at once when none runs). */
function inLine<T>(line: TransactionLine, start: () => Promise<T>): Promise<T> {
  const before = line.tail;
  const result = before === undefined ? start() : before.then(start);
  const tail = result.then(
    () => {},
    () => {},
  );
  line.tail = tail;
  void tail.then(() => {
    if (line.tail === tail) line.tail = undefined;
  });
  return result;
}
