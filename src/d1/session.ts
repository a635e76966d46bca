import { BOOKMARK_DIGITS } from "./connection.ts";
import { d1Error } from "./errors.ts";
import type { D1Backend } from "./backend.ts";
import type { BoundQuery, QueryOutput, RowsWanted } from "./engine.ts";
import { runBatch } from "./batch.ts";
import { D1PreparedStatement, type D1Executor } from "./statement.ts";
import type { D1Result, D1SessionBookmark } from "./types.ts";

export const FIRST_PRIMARY = "first-primary";
export const FIRST_UNCONSTRAINED = "first-unconstrained";
const BOOKMARK = new RegExp(`^[0-9]{${BOOKMARK_DIGITS}}$`);

/**
 * A sequence of queries that see each other's writes, as `db.withSession(…)` returns it. Hearth has
 * one copy of each database (the primary), so every query is sequentially consistent anyway; the
 * session tracks the bookmark of the latest commit it has seen, which increases with every commit.
 * @example
 * const session = env.DB.withSession(request.headers.get("x-d1-bookmark") ?? "first-unconstrained");
 * const rows = await session.prepare("SELECT * FROM posts").all();
 * response.headers.set("x-d1-bookmark", session.getBookmark() ?? "");
 */
export class D1DatabaseSession {
  readonly #backend: D1Backend;
  #bookmarkOrConstraint: string;
  readonly #executor: D1Executor;

  /** @internal Use `db.withSession(constraintOrBookmark)`. The backend rejects once the database is closed. */
  constructor(backend: D1Backend, bookmarkOrConstraint: string) {
    if (!bookmarkOrConstraint) throw d1Error("D1_SESSION_ERROR", "invalid bookmark or constraint");
    this.#backend = backend;
    this.#bookmarkOrConstraint = bookmarkOrConstraint;
    this.#executor = { query: (query, rows, wantMeta) => this.#query(query, rows, wantMeta) };
  }

  prepare(query: string): D1PreparedStatement {
    return new D1PreparedStatement(this.#executor, query);
  }

  /** Like `db.batch`, inside this session. */
  async batch<T = unknown>(statements: D1PreparedStatement[]): Promise<D1Result<T>[]> {
    this.#checkBookmark();
    const results = await runBatch<T>(this.#backend, statements);
    this.#observe(await this.#backend.bookmark());
    return results;
  }

  /** The bookmark of the latest commit this session has seen; null before its first query (unless it began at one). */
  getBookmark(): D1SessionBookmark | null {
    const value = this.#bookmarkOrConstraint;
    return value === FIRST_PRIMARY || value === FIRST_UNCONSTRAINED ? null : value;
  }

  async #query(query: BoundQuery, rows: RowsWanted, wantMeta: boolean): Promise<QueryOutput> {
    this.#checkBookmark();
    const output = await this.#backend.query(query, rows, wantMeta);
    this.#observe(await this.#backend.bookmark());
    return output;
  }

  /** A session that began at something neither a constraint nor a Hearth bookmark fails its queries. */
  #checkBookmark(): void {
    const bookmark = this.getBookmark();
    if (bookmark !== null && !BOOKMARK.test(bookmark)) throw d1Error("D1_SESSION_ERROR", "invalid bookmark or constraint");
  }

  /** Keeps the newest bookmark seen (bookmarks sort as strings). */
  #observe(bookmark: string): void {
    const current = this.getBookmark();
    if (current === null || current < bookmark) this.#bookmarkOrConstraint = bookmark;
  }
}
