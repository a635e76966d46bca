import type { Durability } from "../limits.ts";
import { SharedFiles } from "../storage/shared-files.ts";
import { engineBackend, type D1Backend } from "./backend.ts";
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

/** A database whose queries run elsewhere (a cluster's node that holds it): see {@link D1Backend}. */
export interface RemoteD1DatabaseOptions {
  /** What messages call the database (its name). */
  label: string;
  backend: D1Backend;
}

/** One engine (one SQLite connection) per file in this process, shared by every handle on it. */
export const engines = new SharedFiles<D1Engine>();

/**
 * Cloudflare's D1 binding (`env.DB`) on a local SQLite file, through node:sqlite. Same API, result
 * shapes, type rules, error texts and per-statement limits as D1; one copy of the data (no replicas).
 * Every `D1Database` naming the same file in this process shares one connection (reference counted:
 * the last `close()` closes the file), so all agents and workers see the same data at once.
 * @example
 * const db = new D1Database({ path: ".hearth/d1/app.sqlite" });
 * await db.exec("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT)");
 * await db.prepare("INSERT INTO notes (body) VALUES (?)").bind("hello").run();
 * const note = await db.prepare("SELECT * FROM notes WHERE id = ?").bind(1).first(); // { id: 1, body: "hello" }
 * db.close();
 */
export class D1Database {
  /** The SQLite file, or the label of a database served elsewhere. */
  readonly path: string;
  #engine: D1Engine | undefined;
  #closed = false;
  readonly #backend: D1Backend;
  readonly #primary: D1Executor;

  constructor(options: D1DatabaseOptions | RemoteD1DatabaseOptions) {
    if ("backend" in options) {
      this.path = options.label;
      const backend = options.backend;
      const open = (): D1Backend => {
        if (this.#closed) throw closedError(this.path);
        return backend;
      };
      this.#backend = {
        query: (query, rows, wantMeta) => open().query(query, rows, wantMeta),
        batch: (queries) => open().batch(queries),
        exec: (text) => open().exec(text),
        bookmark: () => open().bookmark(),
        dump: () => open().dump(),
      };
    } else {
      const durability = options.durability ?? "relaxed";
      this.path = options.path;
      this.#engine = engines.acquire(
        options.path,
        (path) => new D1Engine(path, durability, undefined, "retry"),
        (open) => {
          if (open.durability !== durability) {
            throw d1Error("D1_ERROR", `the D1 database ${options.path} is already open with durability "${open.durability}", not "${durability}"`);
          }
        },
      );
      this.#backend = engineBackend(() => this.#open());
    }
    this.#primary = { query: (query, rows, wantMeta) => this.#backend.query(query, rows, wantMeta) };
  }

  /** A statement to bind and run. Nothing runs (and nothing is checked) until first/all/run/raw. */
  prepare(query: string): D1PreparedStatement {
    return new D1PreparedStatement(this.#primary, query);
  }

  /** Runs the statements in one transaction, in order: all of them, or none (`D1_ERROR: …` on the first failure). */
  async batch<T = unknown>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]> {
    return runBatch<T>(this.#backend, statements);
  }

  /**
   * Runs SQL without bindings, line by line (split on `\n`, in one transaction): for migrations and
   * maintenance. `D1_EXEC_ERROR: Error in line N: <line>: <message>` when a line fails.
   */
  async exec(query: string): Promise<D1ExecResult> {
    return this.#backend.exec(query);
  }

  /**
   * A session: `"first-primary"`, `"first-unconstrained"` (the default; an empty or blank argument
   * means it too) or a bookmark from `getBookmark()`. A session started at a string that is neither
   * fails its queries with `D1_SESSION_ERROR: invalid bookmark or constraint`.
   */
  withSession(constraintOrBookmark?: string): D1DatabaseSession {
    const value = typeof constraintOrBookmark === "string" ? constraintOrBookmark.trim() : "";
    return new D1DatabaseSession(this.#backend, value === "" ? FIRST_UNCONSTRAINED : value);
  }

  /** @deprecated As on D1. The whole database file, as bytes (sqlite3_serialize). */
  async dump(): Promise<ArrayBuffer> {
    let bytes: Uint8Array;
    try {
      bytes = await this.#backend.dump();
    } catch (error) {
      throw d1Error("D1_DUMP_ERROR", toD1Error(error).message.replace(/^D1_ERROR: /, ""), error);
    }
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  /**
   * Lets go of the database: the file is closed when the last `D1Database` using it closes. Later
   * calls on this object (and its sessions and statements) reject. Idempotent.
   */
  close(): void {
    this.#closed = true;
    const engine = this.#engine;
    if (engine === undefined) return;
    this.#engine = undefined;
    if (engines.release(this.path, engine)) engine.close();
  }

  #open(): D1Engine {
    const engine = this.#engine;
    if (engine === undefined || !engine.connection.isOpen) throw closedError(this.path);
    return engine;
  }
}

function closedError(path: string): Error {
  return d1Error("D1_ERROR", `the D1 database ${path} is closed (close() was called, or the server is shutting down)`);
}
