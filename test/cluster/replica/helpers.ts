import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { currentBootStamp } from "../../../src/storage/agent-file-setup.ts";
import { openAgentFile } from "../../../src/storage/connection.ts";
import type { ReplicaLink } from "../../../src/storage/replication.ts";

/** A scratch directory per test, removed by {@link removeScratch}. */
export function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), "hearth-replica-"));
}

export function removeScratch(dir: string | undefined): void {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}

/** Opens (or creates) an agent file the way the runtime does (strict: a new file is durable at once). */
export function openAgent(path: string, identity = "test/agent"): DatabaseSync {
  return openAgentFile({ path, durability: "strict", identity, bootStamp: currentBootStamp() }).db;
}

/**
 * One transaction driven by hand the way the implicit transaction drives it: BEGIN, the writes,
 * beforeCommit, COMMIT, committed(). A throwing beforeCommit (or statement) rolls everything back.
 */
export function commit(db: DatabaseSync, link: ReplicaLink, sql: string): Promise<void> | undefined {
  db.exec("BEGIN");
  try {
    db.exec(sql);
    link.beforeCommit();
    db.exec("COMMIT");
  } catch (error) {
    db.exec("ROLLBACK");
    throw error;
  }
  return link.committed();
}

/** Every table's rows (SQLite's own included), in a comparable form: sorted JSON per row. */
export function dumpTables(db: DatabaseSync): Record<string, string[]> {
  const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name").all();
  const dump: Record<string, string[]> = {};
  for (const { name } of tables) {
    const rows = db.prepare(`SELECT * FROM "${String(name)}"`).all();
    dump[String(name)] = rows.map((row) => JSON.stringify(row, (_key, value: unknown) => (value instanceof Uint8Array ? Buffer.from(value).toString("hex") : value))).sort();
  }
  return dump;
}

/** The schema (tables, indexes, triggers, views) as SQL text, in a comparable order. */
export function dumpSchema(db: DatabaseSync): string[] {
  return db.prepare("SELECT type, name, sql FROM sqlite_schema ORDER BY type, name").all().map((row) => `${String(row.type)} ${String(row.name)}: ${String(row.sql)}`);
}

/** Settles `promise` into a state that can be looked at synchronously after a few turns. */
export function track(promise: Promise<void> | undefined): { state: "pending" | "resolved" | "rejected"; error?: unknown } {
  const tracked: { state: "pending" | "resolved" | "rejected"; error?: unknown } = { state: "pending" };
  if (promise === undefined) throw new Error("expected a promise, the commit shipped nothing");
  promise.then(
    () => (tracked.state = "resolved"),
    (error: unknown) => {
      tracked.state = "rejected";
      tracked.error = error;
    },
  );
  return tracked;
}

/** Lets queued promise callbacks and immediates run. */
export function turns(count = 3): Promise<void> {
  let chain = Promise.resolve();
  for (let i = 0; i < count; i++) chain = chain.then(() => new Promise<void>((resolve) => setImmediate(resolve)));
  return chain;
}
