import type { TransactionOwner } from "./lost-writes.ts";

interface Entry {
  owner: TransactionOwner;
  /** The depth of the transaction() closure it was registered in (0: none). */
  level: number;
  run: () => void;
}

/**
 * Work waiting for the open transaction to commit (ImplicitTransaction.afterCommit): what cannot be
 * undone and must follow a write, such as files removed beside the database. Each entry goes with the
 * writes made before it: dropped when they are undone, run once they are durable.
 */
export class AfterCommitWork {
  #entries: Entry[] = [];

  add(owner: TransactionOwner, level: number, run: () => void): void {
    this.#entries.push({ owner, level, run });
  }

  /** How many entries there are: a synchronous block that rolls back drops those after it ({@link dropSince}). */
  get mark(): number {
    return this.#entries.length;
  }

  dropSince(mark: number): void {
    if (this.#entries.length > mark) this.#entries.length = mark;
  }

  /** An event's writes were undone. */
  dropOwner(owner: TransactionOwner): void {
    if (this.#entries.length > 0) this.#entries = this.#entries.filter((entry) => entry.owner !== owner);
  }

  /** A transaction() closure at `depth` ended: kept into what encloses it, or undone. */
  closureEnded(depth: number, kept: boolean): void {
    if (kept) for (const entry of this.#entries) entry.level = Math.min(entry.level, depth - 1);
    else this.#entries = this.#entries.filter((entry) => entry.level < depth);
  }

  /** The whole transaction was undone. */
  clear(): void {
    this.#entries = [];
  }

  /** The transaction committed: runs every entry; a failing one is reported, the commit stands. */
  run(): void {
    if (this.#entries.length === 0) return;
    const entries = this.#entries;
    this.#entries = [];
    for (const { run } of entries) {
      try {
        run();
      } catch (error) {
        console.error("[hearth] work after a commit failed:", error);
      }
    }
  }
}
