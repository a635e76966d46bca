/**
 * `transactionSync` when SQLite undoes the whole transaction on its own (an `ON CONFLICT ROLLBACK`
 * constraint): the savepoint is gone with it, so the caller gets the statement's own error (or, when
 * `fn` swallowed it, that the transaction was rolled back), and the event is told its writes are gone.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, expect, it } from "vitest";
import { AgentDatabase } from "../../src/storage/database.ts";

let dir: string;
let path: string;
let owner: object | undefined;
let rollbacks: number;
let db: AgentDatabase;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "hearth-txsync-"));
  path = join(dir, "agents", "a.sqlite");
  rollbacks = 0;
  owner = undefined;
  db = new AgentDatabase({ path, durability: "relaxed", identity: "t/a", currentOwner: () => owner, onRollback: () => rollbacks++ });
  db.execScript("CREATE TABLE t (k INTEGER PRIMARY KEY ON CONFLICT ROLLBACK)");
  db.statement("INSERT INTO t VALUES (1)").run();
  db.flush();
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function storedKeys(): number[] {
  db.flush();
  db.close();
  const reader = new DatabaseSync(path);
  try {
    return reader.prepare("SELECT k FROM t ORDER BY k").all().map((row) => Number(row.k));
  } finally {
    reader.close();
  }
}

it("rethrows the statement's own error, undoes the caches and fails the event", async () => {
  const event = {};
  owner = event;
  db.statement("INSERT INTO t VALUES (5)").run();
  expect(() =>
    db.transactionSync(() => {
      db.statement("INSERT INTO t VALUES (2)").run();
      db.statement("INSERT INTO t VALUES (1)").run();
    }),
  ).toThrow(/UNIQUE constraint failed/);
  expect(rollbacks).toBe(1);
  owner = undefined;
  await expect(db.endEvent(event, false)).rejects.toThrow(/rolled back/);
  expect(storedKeys()).toEqual([1]);
});

it("says the transaction was rolled back when fn swallowed the statement's error", async () => {
  const event = {};
  owner = event;
  expect(() =>
    db.transactionSync(() => {
      db.statement("INSERT INTO t VALUES (3)").run();
      try {
        db.statement("INSERT INTO t VALUES (1)").run();
      } catch {
        // the caller goes on as if only that statement had failed
      }
      return "done";
    }),
  ).toThrow(/SQLite rolled the transaction back/);
  expect(rollbacks).toBe(1);
  owner = undefined;
  await expect(db.endEvent(event, false)).rejects.toThrow(/rolled back/);
  // A later event writes and commits as usual.
  const next = {};
  owner = next;
  db.statement("INSERT INTO t VALUES (4)").run();
  owner = undefined;
  await db.endEvent(next, false);
  expect(storedKeys()).toEqual([1, 4]);
});
