import { existsSync } from "node:fs";
import { join } from "node:path";
import type { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";
import { setImmediate } from "node:timers"; // Node's own: never an application's fake one
import type { Durability } from "../limits.ts";
import { inTransaction, openHostDatabase } from "../storage/host-database.ts";
import type { Clock } from "../time/clock.ts";
import { scanAgentFiles } from "./catalog-backfill.ts";
import type { CellPlace } from "./place.ts";

/** What the host tells the directory of its agents: only root actors are listed (children belong to their root). */
export interface AgentDirectory {
  /** The actor at `place` came into memory (created, or woken from hibernation). */
  opened(place: CellPlace): void;
  /** The actor left memory (hibernated, stopped, or the host closed). */
  left(place: CellPlace): void;
  /** The actor's storage was deleted (`destroy()`). */
  removed(place: CellPlace): void;
  /** Writes what is pending and closes. */
  close(): void;
}

/** One agent in the catalog. */
export interface CatalogEntry {
  class: string;
  name: string;
  /** When the catalog first saw it (epoch ms; a backfilled agent: its file's creation). */
  createdAt: number;
  /** When it last came into or left memory (epoch ms). */
  lastActiveAt: number;
}

/** A list query: class, name text, paging. */
export interface CatalogQuery {
  class?: string;
  /** Names that contain this text (a prefix is a match too); ASCII letters ignore case. */
  q?: string;
  /** The `next` of the previous page. */
  cursor?: string;
  /** Entries per page: default 50, at most 500. */
  limit?: number;
}

/** Items per page by default, and at most. */
export const CATALOG_DEFAULT_LIMIT = 50;
export const CATALOG_MAX_LIMIT = 500;
/** The longest `q`, in characters. */
export const CATALOG_MAX_QUERY = 256;

export interface AgentCatalogOptions {
  /** Where agents live (`<dataDir>/agents`): read once to list agents stored before the catalog. */
  dataDir: string;
  /** Where `catalog.sqlite` lives; default `dataDir`. */
  stateDir?: string;
  /** Lists only the root agents this is true for (a host that runs some of the data directory's agents). */
  owns?: (slug: string, name: string) => boolean;
  durability?: Durability;
  /** The time of created/last active. Default: the system clock. */
  clock?: Pick<Clock, "now">;
  /** The registered classes by storage slug (the host's bindings): names in and out are class names. */
  classes?: ReadonlyMap<string, { readonly className: string }>;
}

// secure_delete: a destroyed agent's name does not linger in free pages.
const SCHEMA = `PRAGMA secure_delete = ON;
  CREATE TABLE IF NOT EXISTS agents (
    slug TEXT NOT NULL, name TEXT NOT NULL, created_at INTEGER NOT NULL, last_active_at INTEGER NOT NULL,
    PRIMARY KEY (slug, name)) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS catalog_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;`;

type Pending = { remove: false; slug: string; name: string; at: number } | { remove: true; slug: string; name: string };

/**
 * The host's list of its root agents — class, name, created and last active — in `<dataDir>/catalog.sqlite`,
 * so the inspector can count and search 100,000s of agents without opening their files (whose names are
 * hashes). Changes are coalesced per agent and written once per event-loop turn; reads see them at once.
 * A data directory from before the catalog is scanned once, reading each file's stored name.
 * @example
 * const catalog = new AgentCatalog({ dataDir: ".hearth", classes: bindingsBySlug });
 * catalog.countByClass(); // [{ class: "Chat", total: 120 }]
 * catalog.list({ class: "Chat", q: "ada", limit: 20 }); // { items: [{ class, name, createdAt, lastActiveAt }], next }
 */
export class AgentCatalog implements AgentDirectory {
  readonly #db: DatabaseSync;
  readonly #clock: Pick<Clock, "now">;
  readonly #classes: ReadonlyMap<string, { readonly className: string }>;
  readonly #statements = new Map<string, StatementSync>();
  #pending = new Map<string, Pending>();
  #scheduled = false;
  #closed = false;
  readonly #owns: ((slug: string, name: string) => boolean) | undefined;

  constructor(options: AgentCatalogOptions) {
    this.#clock = options.clock ?? Date;
    this.#classes = options.classes ?? new Map();
    this.#owns = options.owns;
    this.#db = openHostDatabase(join(options.stateDir ?? options.dataDir, "catalog.sqlite"), options.durability ?? "relaxed", "agent catalog", SCHEMA);
    const backfilled = this.#statement("SELECT value FROM catalog_meta WHERE key = 'backfilled'").get();
    if (!backfilled) this.backfill(options.dataDir);
  }

  opened(place: CellPlace): void {
    if (place.path.length === 0) this.#queue({ remove: false, slug: place.rootSlug, name: place.rootName, at: this.#clock.now() });
  }

  left(place: CellPlace): void {
    this.opened(place);
  }

  removed(place: CellPlace): void {
    if (place.path.length === 0) this.#queue({ remove: true, slug: place.rootSlug, name: place.rootName });
  }

  /** Agents per class, by class name. */
  countByClass(): Array<{ class: string; total: number }> {
    this.flush();
    const rows = this.#statement("SELECT slug, count(*) AS total FROM agents GROUP BY slug").all() as Array<{ slug: string; total: number }>;
    return rows.map((row) => ({ class: this.#classOf(row.slug), total: Number(row.total) })).sort((a, b) => a.class.localeCompare(b.class));
  }

  /** Whether the catalog lists this agent. */
  has(className: string, name: string): boolean {
    this.flush();
    return this.#statement("SELECT 1 AS x FROM agents WHERE slug = ? AND name = ?").get(this.#slugOf(className), name) !== undefined;
  }

  /** One agent's entry. */
  get(className: string, name: string): CatalogEntry | undefined {
    this.flush();
    const row = this.#statement("SELECT slug, name, created_at, last_active_at FROM agents WHERE slug = ? AND name = ?").get(this.#slugOf(className), name);
    return row && this.#entry(row as unknown as Row);
  }

  /**
   * A page of agents ordered by class then name.
   * @throws RangeError for a limit outside 1–500, a `q` over 256 characters or a cursor not made here.
   */
  list(query: CatalogQuery = {}): { items: CatalogEntry[]; next: string | null } {
    const limit = query.limit ?? CATALOG_DEFAULT_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > CATALOG_MAX_LIMIT) {
      throw new RangeError(`limit must be a whole number from 1 to ${CATALOG_MAX_LIMIT}, got ${JSON.stringify(query.limit)}`);
    }
    if (query.q && query.q.length > CATALOG_MAX_QUERY) throw new RangeError(`q is at most ${CATALOG_MAX_QUERY} characters, got ${query.q.length}`);
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    if (query.class !== undefined) {
      where.push("slug = ?");
      params.push(this.#slugOf(query.class));
    }
    if (query.q) {
      where.push("name LIKE ? ESCAPE '\\'");
      params.push(`%${query.q.replace(/[\\%_]/g, "\\$&")}%`);
    }
    if (query.cursor) {
      const [slug, name] = decodeCursor(query.cursor);
      where.push("(slug > ? OR (slug = ? AND name > ?))");
      params.push(slug, slug, name);
    }
    this.flush();
    const sql = `SELECT slug, name, created_at, last_active_at FROM agents ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY slug, name LIMIT ?`;
    const rows = this.#statement(sql).all(...params, limit + 1) as unknown as Row[];
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const last = page[page.length - 1];
    return { items: page.map((row) => this.#entry(row)), next: more && last ? encodeCursor(last.slug, last.name) : null };
  }

  /**
   * Lists every root agent stored under the data directory (reading each file's name), keeping what
   * the catalog already knows; the host runs it once for a data directory from before the catalog.
   * @returns how many agents were found.
   */
  backfill(dataDir: string): number {
    let found = 0;
    if (existsSync(join(dataDir, "agents"))) {
      const insert = this.#statement("INSERT OR IGNORE INTO agents (slug, name, created_at, last_active_at) VALUES (?, ?, ?, ?)");
      inTransaction(this.#db, () => {
        for (const agent of scanAgentFiles(dataDir)) {
          if (this.#owns?.(agent.slug, agent.name) === false) continue;
          insert.run(agent.slug, agent.name, agent.createdAt, agent.lastActiveAt);
          found++;
        }
      });
    }
    this.#statement("INSERT OR REPLACE INTO catalog_meta (key, value) VALUES ('backfilled', ?)").run(String(this.#clock.now()));
    return found;
  }

  /** Writes the pending changes now (otherwise at the end of the turn). */
  flush(): void {
    this.#scheduled = false;
    if (this.#pending.size === 0 || this.#closed) return;
    const batch = this.#pending;
    this.#pending = new Map();
    const upsert = this.#statement(
      "INSERT INTO agents (slug, name, created_at, last_active_at) VALUES (?, ?, ?, ?) ON CONFLICT (slug, name) DO UPDATE SET last_active_at = excluded.last_active_at",
    );
    const remove = this.#statement("DELETE FROM agents WHERE slug = ? AND name = ?");
    try {
      inTransaction(this.#db, () => {
        for (const change of batch.values()) {
          if (change.remove) remove.run(change.slug, change.name);
          else upsert.run(change.slug, change.name, change.at, change.at);
        }
      });
    } catch (error) {
      console.error("[hearth] the agent catalog could not be written:", error instanceof Error ? error.message : error);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    this.#statements.clear();
    this.#db.close();
  }

  #queue(change: Pending): void {
    if (this.#closed) return;
    const key = `${change.slug}\0${change.name}`;
    this.#pending.delete(key); // the latest change of an agent wins, in the order changes came
    this.#pending.set(key, change);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) this.#statements.set(sql, (statement = this.#db.prepare(sql)));
    return statement;
  }

  #classOf(slug: string): string {
    return this.#classes.get(slug)?.className ?? slug;
  }

  #slugOf(className: string): string {
    for (const [slug, binding] of this.#classes) if (binding.className === className) return slug;
    return className;
  }

  #entry(row: Row): CatalogEntry {
    return { class: this.#classOf(row.slug), name: row.name, createdAt: Number(row.created_at), lastActiveAt: Number(row.last_active_at) };
  }
}

interface Row {
  slug: string;
  name: string;
  created_at: number;
  last_active_at: number;
}

/** The cursor of an agent list after the agent `slug`/`name` (also the inspector's cluster-wide list). */
export function encodeCursor(slug: string, name: string): string {
  return Buffer.from(JSON.stringify([slug, name])).toString("base64url");
}

/** The agent a cursor of {@link encodeCursor} points after; a RangeError for anything else. */
export function decodeCursor(cursor: string): [string, string] {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString());
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === "string" && typeof value[1] === "string") return [value[0], value[1]];
  } catch {
    // reported below
  }
  throw new RangeError(`Invalid cursor ${JSON.stringify(cursor.slice(0, 40))}: pass the "next" of a previous page`);
}
