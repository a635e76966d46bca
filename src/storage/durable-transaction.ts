import { AsyncLocalStorage } from "node:async_hooks";
import { StorageOperations, type KvTarget } from "./kv-operations.ts";
import { PendingWrites } from "./pending-writes.ts";

/** @internal What a running transaction's `txn` works on; the runner closes it when the closure ends. */
export interface TransactionState {
  /** Undefined once the closure has finished (committed, or thrown). */
  pending: PendingWrites | undefined;
  rolledBack: boolean;
}

interface TransactionScope {
  /** The storage whose `transaction()` opened it. */
  readonly storage: object;
  readonly state: TransactionState;
}

/** The transaction whose closure is running, followed across its awaits. */
const scopes = new AsyncLocalStorage<TransactionScope>();

/**
 * The pending writes the current code should use when it calls `storage` directly: inside a
 * `transaction()` closure of that storage, as on Cloudflare's SQLite-backed objects, the direct
 * `ctx.storage.get/put/delete/list` calls are part of the transaction. Undefined outside one.
 */
export function openTransaction(storage: object): PendingWrites | undefined {
  const scope = scopes.getStore();
  if (scope === undefined || scope.storage !== storage || scope.state.rolledBack) return undefined;
  return scope.state.pending;
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
  readonly #now: () => number;

  /** @internal Made by `DurableObjectStorage.transaction`. */
  constructor(state: TransactionState, now: () => number) {
    super();
    this.#state = state;
    this.#now = now;
  }

  /**
   * Undoes the transaction's writes: the closure goes on, `transaction()` resolves with its result,
   * and every later call on `txn` throws. Calling it again does nothing.
   */
  rollback(): void {
    if (this.#state.rolledBack) return;
    this.target("rollback()");
    this.#state.rolledBack = true;
    this.#state.pending = undefined;
  }

  /** Not allowed in a transaction (workerd's error). */
  deleteAll(): never {
    throw new Error("Cannot call deleteAll() within a transaction");
  }

  protected override now(): number {
    return this.#now();
  }

  protected target(op: string): KvTarget {
    if (this.#state.rolledBack) throw new Error(`Cannot ${op} on rolled back transaction`);
    const pending = this.#state.pending;
    if (pending === undefined) {
      throw new Error(`Cannot call ${op} on transaction that has already committed: did you move \`txn\` outside of the closure?`);
    }
    return pending;
  }
}

/**
 * Runs `closure` as a transaction over `beneath` (the database, or the pending writes of an
 * enclosing transaction): its writes are applied together when its promise resolves, and dropped
 * when it rejects or calls `txn.rollback()`.
 */
export function runTransaction<T>(
  storage: object,
  beneath: KvTarget,
  closure: (txn: DurableObjectTransaction) => T | Promise<T>,
  now: () => number,
): Promise<T> {
  if (typeof closure !== "function") {
    return Promise.reject(new TypeError("transaction() takes a function: transaction(async (txn) => { … })"));
  }
  const state: TransactionState = { pending: new PendingWrites(beneath), rolledBack: false };
  const txn = new DurableObjectTransaction(state, now);
  const fail = (error: unknown): never => {
    state.pending = undefined;
    state.rolledBack = true;
    throw error;
  };
  let result: Promise<T>;
  try {
    result = Promise.resolve(scopes.run({ storage, state }, () => closure(txn)));
  } catch (error) {
    return Promise.reject(error as Error).catch(fail);
  }
  return result.then((value) => {
    const pending = state.pending;
    state.pending = undefined;
    pending?.apply();
    return value;
  }, fail);
}
