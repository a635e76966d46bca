import type { DatabaseSync } from "node:sqlite";
import type { ImplicitTransaction } from "./implicit-transaction.ts";

/**
 * Runs a `transactionSync` block inside the open transaction, as a savepoint: a throw undoes its
 * writes (and the after-commit work it registered) and is rethrown; the event's earlier writes stay.
 * `undone` is told when the savepoint was rolled back here (not when SQLite undid the whole
 * transaction itself: the implicit transaction handles that).
 */
export function runSyncBlock<T>(db: DatabaseSync, transaction: ImplicitTransaction, undone: () => void, fn: () => T): T {
  db.exec("SAVEPOINT hearth_tx");
  const mark = transaction.afterCommitWork.mark;
  try {
    const result = fn();
    // `fn` caught the error of a statement SQLite answered by undoing the whole transaction (an ON
    // CONFLICT ROLLBACK, a trigger's RAISE(ROLLBACK), an I/O error): the savepoint went with it.
    transaction.throwIfRolledBack();
    db.exec("RELEASE hearth_tx");
    return result;
  } catch (error) {
    transaction.afterCommitWork.dropSince(mark);
    if (db.isTransaction) {
      db.exec("ROLLBACK TO hearth_tx; RELEASE hearth_tx");
      undone();
    } else {
      // The savepoint went with the whole transaction: the implicit transaction's own handling (its
      // writers told their writes are lost, the caches dropped once).
      transaction.noticeRollback();
    }
    throw error;
  }
}
