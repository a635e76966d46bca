import { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, it } from "vitest";
import { D1Database } from "../../src/d1/index.ts";
import { d1TestDirs } from "./helpers.ts";

/**
 * Another connection holding the file's write lock, as `hearth d1 execute` does beside a running
 * server (SQLite's locks are the same between two connections of a process as between processes).
 */
const { open } = d1TestDirs();
const others: DatabaseSync[] = [];
afterEach(() => {
  for (const other of others.splice(0)) if (other.isOpen) other.close();
});

/** A database whose write lock another connection holds, with an uncommitted row of its own. */
async function lockedDatabase(): Promise<{ db: D1Database; other: DatabaseSync }> {
  const db = open("locked");
  await db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
  const other = new DatabaseSync(db.path);
  others.push(other);
  other.exec("BEGIN IMMEDIATE; INSERT INTO t (v) VALUES ('other');");
  return { db, other };
}

/** Runs `then` on a later turn of the event loop, and gives its result. */
function onLaterTurn<T>(then: () => T): Promise<T> {
  return new Promise((resolve, reject) =>
    setImmediate(() => {
      try {
        resolve(then());
      } catch (error) {
        reject(error as Error);
      }
    }),
  );
}

describe("a write while another process writes", () => {
  it("waits without holding the event loop, then commits once the other write has", async () => {
    const { db, other } = await lockedDatabase();
    const events: string[] = [];
    const write = db.prepare("INSERT INTO t (v) VALUES ('mine')").run().then(
      () => void events.push("write committed"),
      (error: Error) => void events.push(`write failed: ${error.message}`),
    );
    // The event loop turns while the write waits: here the other process commits.
    await onLaterTurn(() => {
      events.push("event loop turned");
      other.exec("COMMIT");
    });
    await write;
    expect(events).toEqual(["event loop turned", "write committed"]);
    expect((await db.prepare("SELECT v FROM t ORDER BY id").raw()).flat()).toEqual(["other", "mine"]);
  });

  it("keeps the order of the calls made while it waits: a batch and an exec wait too, a read after them sees them", async () => {
    const { db, other } = await lockedDatabase();
    const batch = db.batch([db.prepare("INSERT INTO t (v) VALUES ('batch 1')"), db.prepare("INSERT INTO t (v) VALUES ('batch 2')")]);
    const exec = db.exec("INSERT INTO t (v) VALUES ('exec')");
    const read = db.prepare("SELECT v FROM t ORDER BY id").raw();
    let settled = 0;
    for (const call of [batch, exec, read]) void call.then(() => settled++, () => settled++);
    const settledBeforeTheCommit = await onLaterTurn(() => {
      other.exec("COMMIT");
      return settled;
    });
    expect(settledBeforeTheCommit).toBe(0);
    await Promise.all([batch, exec]);
    expect((await read).flat()).toEqual(["other", "batch 1", "batch 2", "exec"]);
  });

  it("runs a query that reads before it writes again from the start, on the data the other process committed", async () => {
    const { db, other } = await lockedDatabase();
    const write = db.prepare("INSERT INTO t (v) SELECT 'mine after ' || count(*) FROM t; SELECT v FROM t ORDER BY id").all();
    await onLaterTurn(() => other.exec("COMMIT"));
    expect((await write).results).toEqual([{ v: "other" }, { v: "mine after 1" }]);
  });
});

describe("a read while another process writes", () => {
  it("is answered at once, whatever its SQL: WITH … SELECT, a PRAGMA, several statements, a batch, exec", async () => {
    const { db, other } = await lockedDatabase();
    const reads = await Promise.all([
      db.prepare("WITH x AS (SELECT count(*) AS n FROM t) SELECT n FROM x").first("n"),
      db.prepare("PRAGMA user_version").first("user_version"),
      db.prepare("SELECT name FROM pragma_table_info('t') ORDER BY cid").raw(),
      db.prepare("SELECT 1; SELECT count(*) AS n FROM t").first("n"),
      db.batch([db.prepare("SELECT count(*) AS n FROM t"), db.prepare("SELECT 2 AS two")]).then((results) => results.map((result) => result.results)),
      db.exec("SELECT 1\nSELECT count(*) FROM t").then((result) => result.count),
    ]);
    expect(reads).toEqual([0, 0, [["id"], ["v"]], 0, [[{ n: 0 }], [{ two: 2 }]], 2]);
    other.exec("ROLLBACK");
  }, 20_000);
});
