import type { BoundQuery, D1Engine, QueryOutput, RowsWanted } from "./engine.ts";
import type { D1ExecResult } from "./types.ts";

/**
 * Where a D1 database's queries run: its SQLite file in this process ({@link engineBackend}), or the
 * cluster node that holds it (src/cluster/bindings/d1.ts). The binding (`D1Database`) shapes
 * results and checks arguments; a backend only runs what it is given.
 */
export interface D1Backend {
  /** Runs one query (all its statements; rows of the last). */
  query(query: BoundQuery, rows: RowsWanted, wantMeta: boolean): Promise<QueryOutput>;
  /** Runs the queries in one transaction: all of them, or none. */
  batch(queries: readonly BoundQuery[]): Promise<QueryOutput[]>;
  /** D1's `exec`: line by line, in one transaction. */
  exec(text: string): Promise<D1ExecResult>;
  /** The bookmark of the latest commit. */
  bookmark(): Promise<string>;
  /** The whole database as a standalone SQLite file. */
  dump(): Promise<Uint8Array>;
}

/**
 * A backend on an engine of this process. `engine` throws once the database is closed; each call
 * (and each try of a call waiting for another process's write lock) reads it again, so a closed
 * database rejects every later call.
 */
export function engineBackend(engine: () => D1Engine): D1Backend {
  const run = async <T>(call: (open: D1Engine) => T): Promise<T> => {
    const waits = engine().lockWaits;
    return waits === undefined ? call(engine()) : waits.run(() => call(engine()));
  };
  return {
    query: (query, rows, wantMeta) => run((open) => open.query(query, rows, wantMeta)),
    batch: (queries) => run((open) => open.batch(queries)),
    exec: (text) => run((open) => open.exec(text)),
    bookmark: () => run((open) => open.bookmark()),
    dump: () => run(dumpBytes),
  };
}

/** The file as bytes (sqlite3_serialize), marked as a rollback-journal file as a dump from D1 is. */
export function dumpBytes(engine: D1Engine): Uint8Array {
  const bytes = engine.connection.serialize();
  // Header bytes 18-19 say "WAL"; a copy is a standalone file, so mark it rollback-journal, which
  // also lets it be deserialized into an in-memory database.
  if (bytes.length >= 100) bytes.fill(1, 18, 20);
  return bytes;
}
