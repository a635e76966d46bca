import { existsSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { Durability } from "../limits.ts";
import { inTransaction, openHostDatabase } from "../storage/host-database.ts";

/** One agent's entry: when its earliest task is due. */
export interface DueEntry {
  slug: string;
  name: string;
  at: number;
}

/** The key of an agent's entry in memory (slug and name cannot contain a NUL). */
export function dueKey(slug: string, name: string): string {
  return `${slug}\0${name}`;
}

/** The index's file in a data directory. */
export function dueIndexPath(dataDir: string): string {
  return join(dataDir, "host.sqlite");
}

/**
 * Removes every entry of a class (by storage name) from a data directory's index while no host has it
 * open: a class deleted by a migration must not be woken for schedules it no longer has.
 */
export function forgetClassInDueIndex(dataDir: string, slug: string): void {
  const path = dueIndexPath(dataDir);
  if (!existsSync(path)) return;
  const db = new DatabaseSync(path);
  try {
    const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'due'").get();
    if (table !== undefined) db.prepare("DELETE FROM due WHERE slug = ?").run(slug);
  } finally {
    db.close();
  }
}

/** Entries remembered in memory, to skip writes that would not lower anything. */
const CACHE_LIMIT = 50_000;

/**
 * The host's index of "next due time per agent", in its own SQLite file. It lets a process with a
 * million hibernated agents wake exactly those that are due without opening their databases at boot
 * or arming a timer per schedule: one B-tree ordered by time, one timer for its first entry.
 *
 * The invariant is one-sided: an entry may be early (waking an agent with nothing due only costs a
 * wasted wake, after which the entry is corrected), never late. So a new task lowers the entry at
 * once — committed before the agent's own transaction — while raising or removing it waits until the
 * agent's tasks have run and their results are committed.
 */
export class DueIndex {
  readonly #db: DatabaseSync;
  readonly #sql: Record<"lower" | "set" | "remove" | "due" | "between" | "lease" | "earliest" | "after" | "get", StatementSync>;
  /** Last known `at` per agent key (slug\0name); `null` = known to have no entry. */
  readonly #cache = new Map<string, number | null>();
  #treeMin: StatementSync | undefined;

  constructor(path: string, durability: Durability) {
    this.#db = openHostDatabase(
      path,
      durability,
      "schedule index",
      `CREATE TABLE IF NOT EXISTS due (
        slug TEXT NOT NULL, name TEXT NOT NULL, at INTEGER NOT NULL, leased INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (slug, name)) WITHOUT ROWID;
      CREATE INDEX IF NOT EXISTS due_at ON due (at) WHERE leased = 0;
      CREATE INDEX IF NOT EXISTS due_leased ON due (leased) WHERE leased = 1;
      UPDATE due SET leased = 0 WHERE leased = 1;`,
    );
    this.#sql = {
      lower: this.#db.prepare(
        "INSERT INTO due (slug, name, at) VALUES (?, ?, ?) ON CONFLICT (slug, name) DO UPDATE SET at = min(at, excluded.at) RETURNING at",
      ),
      set: this.#db.prepare(
        "INSERT INTO due (slug, name, at) VALUES (?, ?, ?) ON CONFLICT (slug, name) DO UPDATE SET at = excluded.at, leased = 0",
      ),
      remove: this.#db.prepare("DELETE FROM due WHERE slug = ? AND name = ?"),
      due: this.#db.prepare("SELECT slug, name, at FROM due WHERE leased = 0 AND at <= ? ORDER BY at LIMIT ?"),
      between: this.#db.prepare(
        "SELECT slug, name, at FROM due WHERE leased = 0 AND (at > ?1 OR (at = ?1 AND (slug, name) > (?2, ?3))) AND at <= ?4 ORDER BY at, slug, name LIMIT ?5",
      ),
      lease: this.#db.prepare("UPDATE due SET leased = 1 WHERE slug = ? AND name = ?"),
      earliest: this.#db.prepare("SELECT min(at) AS at FROM due WHERE leased = 0"),
      after: this.#db.prepare("SELECT min(at) AS at FROM due WHERE leased = 0 AND (at > ?1 OR (at = ?1 AND (slug, name) > (?2, ?3)))"),
      get: this.#db.prepare("SELECT at FROM due WHERE slug = ? AND name = ?"),
    };
  }

  /** Makes sure the agent is woken by `at` (committed before this returns). */
  lower(slug: string, name: string, at: number): void {
    const key = dueKey(slug, name);
    const known = this.#cache.get(key);
    if (typeof known === "number" && known <= at) return;
    const row = this.#sql.lower.get(slug, name, at) as { at: number };
    this.#remember(key, row.at);
  }

  /** Sets the agent's exact next due time (null: nothing pending) and ends its lease. */
  set(slug: string, name: string, at: number | null): void {
    const key = dueKey(slug, name);
    if (at === null) this.#sql.remove.run(slug, name);
    else this.#sql.set.run(slug, name, at);
    this.#remember(key, at);
  }

  /** Several exact `set`s in one transaction. */
  setMany(entries: ReadonlyArray<{ slug: string; name: string; at: number | null }>): void {
    if (entries.length === 0) return;
    inTransaction(this.#db, () => {
      for (const { slug, name, at } of entries) this.set(slug, name, at);
    });
  }

  /** Due entries not already being run, earliest first. */
  due(now: number, limit: number): DueEntry[] {
    return this.#sql.due.all(now, limit) as unknown as DueEntry[];
  }

  /** Entries not being run after `cursor` (by time, then slug and name) and due by `until`, in that order. */
  dueAfter(cursor: DueEntry, until: number, limit: number): DueEntry[] {
    return this.#sql.between.all(cursor.at, cursor.slug, cursor.name, until, limit) as unknown as DueEntry[];
  }

  /** The earliest time of an entry not being run after `cursor` (by time, then slug and name), or null. */
  earliestAfter(cursor: DueEntry): number | null {
    const row = this.#sql.after.get(cursor.at, cursor.slug, cursor.name) as { at: number | null } | undefined;
    return row?.at ?? null;
  }

  /** Marks entries as being run, so the next query skips them (reset at the next boot). */
  lease(entries: readonly DueEntry[]): void {
    if (entries.length === 0) return;
    inTransaction(this.#db, () => {
      for (const entry of entries) this.#sql.lease.run(entry.slug, entry.name);
    });
  }

  /** The earliest time of an entry that is not being run, or null. */
  earliest(): number | null {
    const row = this.#sql.earliest.get() as { at: number | null } | undefined;
    return row?.at ?? null;
  }

  get(slug: string, name: string): number | null {
    return this.#read(slug, name);
  }

  /** Adds entries in one transaction (a rebuild). */
  lowerMany(entries: Iterable<DueEntry>): number {
    let count = 0;
    inTransaction(this.#db, () => {
      for (const entry of entries) {
        this.#sql.lower.run(entry.slug, entry.name, entry.at);
        count++;
      }
    });
    return count;
  }

  /** The earliest entry of the agent `name` and of every child under it (`name\0…`), or null. */
  earliestInTree(slug: string, name: string): number | null {
    this.#treeMin ??= this.#db.prepare("SELECT min(at) AS at FROM due WHERE slug = ? AND (name = ? OR (name >= ? AND name < ?))");
    const row = this.#treeMin.get(slug, name, `${name}\0`, `${name}\u0001`) as { at: number | null } | undefined;
    return row?.at ?? null;
  }

  /** Removes the entry of `name` and of every child under it (`name\0…`): a deleted subtree of facets. */
  removeTree(slug: string, name: string): void {
    // "\u0001" sorts right after the NUL that separates a child's path from its parent's name.
    this.#db.prepare("DELETE FROM due WHERE slug = ? AND (name = ? OR (name >= ? AND name < ?))").run(slug, name, `${name}\0`, `${name}\u0001`);
    this.#cache.clear();
  }

  get size(): number {
    return Number((this.#db.prepare("SELECT count(*) AS n FROM due").get() as { n: number }).n);
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close();
  }


  #read(slug: string, name: string): number | null {
    const row = this.#sql.get.get(slug, name) as { at: number } | undefined;
    return row?.at ?? null;
  }

  #remember(key: string, at: number | null): void {
    if (this.#cache.size >= CACHE_LIMIT && !this.#cache.has(key)) this.#cache.clear();
    this.#cache.set(key, at);
  }
}

