/**
 * A quiet session's WAL only grows (no automatic checkpoints, decision 0022): every so many statements
 * its size is looked at, and past `LIMITS.quietWalBytes` the session is hardened — SQLite's own
 * ordering and checkpoints from its next commit on.
 */
import { statSync } from "node:fs";
import type { DatabaseSync } from "node:sqlite";
import { LIMITS } from "../limits.ts";
import { HARDEN_PRAGMAS } from "./connection.ts";

/** Statements between two looks at the WAL's size. */
const CHECK_EVERY = 256;

/**
 * Counts a quiet session's statements and hardens it when its WAL has grown too large.
 * @example if (quiet && walWatch.hardenedAfterStatement(db, path)) quiet = false;
 */
export class QuietWalWatch {
  #sinceCheck = 0;

  /** A new connection: counting starts again. */
  reset(): void {
    this.#sinceCheck = 0;
  }

  /**
   * After one more statement of a quiet session: true when the session was hardened now. Inside a
   * transaction (where SQLite does not allow the change) the look waits for the next statement.
   */
  hardenedAfterStatement(db: DatabaseSync, path: string): boolean {
    if (++this.#sinceCheck < CHECK_EVERY || db.isTransaction) return false;
    this.#sinceCheck = 0;
    if ((statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0) <= LIMITS.quietWalBytes) return false;
    db.exec(HARDEN_PRAGMAS);
    return true;
  }
}
