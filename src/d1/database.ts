import type { Durability } from "../limits.ts";
import { runBatch } from "./batch.ts";
import { D1Engine } from "./engine.ts";
import { d1Error, toD1Error } from "./errors.ts";
import { D1DatabaseSession, FIRST_UNCONSTRAINED } from "./session.ts";
import { D1PreparedStatement, type D1Executor } from "./statement.ts";
import type { D1ExecResult, D1Result } from "./types.ts";

export interface D1DatabaseOptions {
  /** The SQLite file (created with its directory when missing). */
  path: string;
  /** "strict": `synchronous = FULL` (survives power loss); "relaxed" (default): `NORMAL` (survives a crash). */
  durability?: Durability;
}

/** Called by close(); returns false while other holders of a shared instance remain (see openD1Database). */
export const releaseHooks = new WeakMap<D1Database, () => boolean>();

/**
 * Cloudflare's D1 binding (`env.DB`) on a local SQLite file, through node:sqlite. Same API, result
 * shapes, type rules, error texts and per-statement limits as D1; one copy of the data (no replicas).
 * Inside Hearth, get it from `env` or from {@link openD1Database}, which shares one instance per file.
 * @example
 * const db = new D1Database({ path: ".hearth/d1/app.sqlite" });
 * await db.exec("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT)");
 * await db.prepare("INSERT INTO notes (body) VALUES (?)").bind("hello").run();
 * const note = await db.prepare("SELECT * FROM notes WHERE id = ?").bind(1).first(); // { id: 1, body: "hello" }
 * db.close();
 */
export class D1Database {
  readonly path: string;
  readonly #engine: D1Engine;
  readonly #primary: D1Executor;

  constructor(options: D1DatabaseOptions) {
    this.path = options.path;
    this.#engine = new D1Engine(options.path, options.durability);
    const engine = this.#engine;
    this.#primary = { query: async (query, rows, wantMeta) => engine.query(query, rows, wantMeta) };
  }

  /** A statement to bind and run. Nothing runs (and nothing is checked) until first/all/run/raw. */
  prepare(query: string): D1PreparedStatement {
    return new D1PreparedStatement(this.#primary, query);
  }

  /** Runs the statements in one transaction, in order: all of them, or none (`D1_ERROR: …` on the first failure). */
  async batch<T = unknown>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]> {
    return runBatch<T>(this.#engine, statements);
  }

  /**
   * Runs SQL without bindings, line by line (split on `\n`, in one transaction): for migrations and
   * maintenance. `D1_EXEC_ERROR: Error in line N: <line>: <message>` when a line fails.
   */
  async exec(query: string): Promise<D1ExecResult> {
    return this.#engine.exec(query);
  }

  /**
   * A session: `"first-primary"`, `"first-unconstrained"` (the default; an empty or blank argument
   * means it too) or a bookmark from `getBookmark()`. A session started at a string that is neither
   * fails its queries with `D1_SESSION_ERROR: invalid bookmark or constraint`.
   */
  withSession(constraintOrBookmark?: string): D1DatabaseSession {
    const value = typeof constraintOrBookmark === "string" ? constraintOrBookmark.trim() : "";
    return new D1DatabaseSession(this.#engine, value === "" ? FIRST_UNCONSTRAINED : value);
  }

  /** @deprecated As on D1. The whole database file, as bytes (sqlite3_serialize). */
  async dump(): Promise<ArrayBuffer> {
    try {
      const bytes = this.#engine.connection.serialize();
      // Header bytes 18-19 say "WAL"; a copy is a standalone file, so mark it rollback-journal (as
      // a dump from D1 is), which also lets it be deserialized into an in-memory database.
      if (bytes.length >= 100) bytes.fill(1, 18, 20);
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    } catch (error) {
      throw d1Error("D1_DUMP_ERROR", toD1Error(error).message.replace(/^D1_ERROR: /, ""), error);
    }
  }

  /** Closes the file. For an instance from openD1Database, only when its last holder closes it. */
  close(): void {
    const release = releaseHooks.get(this);
    if (release !== undefined && !release()) return;
    this.#engine.close();
  }
}
