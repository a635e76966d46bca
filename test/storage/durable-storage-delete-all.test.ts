import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TaskStore } from "../../src/schedule/task-store.ts";
import { AgentDatabase } from "../../src/storage/database.ts";
import { DurableObjectStorage } from "../../src/storage/durable-storage.ts";

let dir: string;
let db: AgentDatabase;
let storage: DurableObjectStorage;
let alarm: number | null;
let hookCalls: number;
let hookFails: boolean;
/** What the hook left for after the commit, and how often it ran. */
let afterCommitRuns: number;

function openFile(): void {
  db = new AgentDatabase({ path: join(dir, "wipe.sqlite"), durability: "relaxed", identity: "wipe/a", currentOwner: () => undefined });
  storage = new DurableObjectStorage(db, {
    alarms: { get: () => alarm, set: (at) => void (alarm = at), delete: () => void (alarm = null) },
    deleteAll: (afterCommit) => {
      hookCalls++;
      afterCommit(() => void afterCommitRuns++);
      if (hookFails) throw new Error("host cleanup failed");
    },
  });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "hearth-do-wipe-"));
  alarm = null;
  hookCalls = 0;
  afterCommitRuns = 0;
  hookFails = false;
  openFile();
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function schema(): string[] {
  return storage.sql
    .exec<{ entry: string }>("SELECT type || ' ' || name AS entry FROM sqlite_master WHERE name NOT LIKE 'sqlite%' ORDER BY type, name")
    .toArray()
    .map((row) => row.entry);
}

/** A database with one of everything a Durable Object can create. */
function fillWithUserData(): void {
  storage.sql.exec(`
    CREATE TABLE parents (id INTEGER PRIMARY KEY, name TEXT);
    CREATE TABLE children (id INTEGER PRIMARY KEY, parent INTEGER NOT NULL REFERENCES parents (id));
    CREATE TABLE counters (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER);
    CREATE TABLE "odd ""name""" (v TEXT);
    CREATE INDEX children_parent ON children (parent);
    CREATE VIEW named AS SELECT name FROM parents;
    CREATE TRIGGER count_parents AFTER INSERT ON parents BEGIN INSERT INTO counters (n) VALUES (new.id); END;
    CREATE VIRTUAL TABLE docs USING fts5 (body);
    CREATE TABLE cf_agents_state (id TEXT PRIMARY KEY, state TEXT);
    CREATE INDEX my_kv_index ON _hearth_kv (value);
    CREATE TRIGGER my_kv_trigger AFTER DELETE ON _hearth_kv BEGIN SELECT 1; END;
    INSERT INTO parents VALUES (1, 'p');
    INSERT INTO children VALUES (1, 1);
    INSERT INTO docs VALUES ('some text');
    INSERT INTO cf_agents_state VALUES ('s', '{}');
    INSERT INTO "odd ""name""" VALUES ('x');
  `);
  storage.kv.put("k", 1);
  db.statement("INSERT INTO _hearth_state (chunk, data) VALUES (0, '{\"x\":1}')").run();
}

const INTERNAL_SCHEMA = ["table _hearth_kv", "table _hearth_meta", "table _hearth_state"];

describe("deleteAll", () => {
  it("removes every table, index, view and trigger the object made, and its keys, and keeps Hearth's tables", async () => {
    fillWithUserData();
    await storage.setAlarm(4_000_000_000_000);
    await storage.deleteAll();
    expect(schema()).toEqual(INTERNAL_SCHEMA);
    expect(await storage.list()).toEqual(new Map());
    expect(storage.sql.exec("SELECT count(*) AS n FROM _hearth_state").one()).toEqual({ n: 0 });
    // SQLite's own AUTOINCREMENT table stays (it cannot be dropped), without the dropped table's row.
    expect(storage.sql.exec("SELECT count(*) AS n FROM sqlite_sequence").one()).toEqual({ n: 0 });
    expect(await storage.getAlarm()).toBeNull();
    expect(hookCalls).toBe(1);
    // The file keeps its identity: it reopens as the same object.
    db.close();
    openFile();
    expect(schema()).toEqual(INTERNAL_SCHEMA);
  });

  it("leaves storage usable: the same names can be created again, foreign keys are still enforced", async () => {
    fillWithUserData();
    await storage.deleteAll({ allowUnconfirmed: true, noCache: true });
    await storage.put("k", "again");
    expect(storage.kv.get("k")).toBe("again");
    storage.sql.exec("CREATE TABLE parents (id INTEGER PRIMARY KEY); CREATE TABLE children (parent INTEGER REFERENCES parents (id))");
    expect(() => storage.sql.exec("INSERT INTO children VALUES (42)")).toThrow(/FOREIGN KEY constraint failed/);
    expect(db.hasTable("counters")).toBe(false);
    expect(db.hasTable("parents")).toBe(true);
    db.flush(); // and the whole turn commits
    await storage.deleteAll(); // again, on a nearly empty database
    expect(schema()).toEqual(INTERNAL_SCHEMA);
  });

  it("keeps the host's internal tables working (schedules)", async () => {
    const tasks = new TaskStore(db);
    const row = { id: "s1", callback: "tick", payload: null, type: "delayed", due_at: 5, retry: null, created_at: 1 };
    tasks.insertSchedule(row);
    fillWithUserData();
    await storage.deleteAll();
    expect(tasks.get({ kind: "schedule", id: "s1" })?.callback).toBe("tick");
    tasks.insertSchedule({ ...row, id: "s2" });
    expect(tasks.get({ kind: "schedule", id: "s2" })?.due_at).toBe(5);
    expect(schema()).toContain("table _hearth_schedules");
  });

  it("is atomic: when the host's hook fails, nothing is deleted", async () => {
    fillWithUserData();
    await storage.setAlarm(4_000_000_000_000);
    const before = schema();
    hookFails = true;
    await expect(storage.deleteAll()).rejects.toThrow("host cleanup failed");
    expect(schema()).toEqual(before);
    expect(await storage.get("k")).toBe(1);
    expect(storage.sql.exec("SELECT count(*) AS n FROM children").one()).toEqual({ n: 1 });
    expect(alarm).toBe(4_000_000_000_000);
  });

  it("runs inside transactionSync, and is undone with it", async () => {
    fillWithUserData();
    expect(() =>
      storage.transactionSync(() => {
        void storage.deleteAll();
        expect(db.hasTable("parents")).toBe(false);
        throw new Error("undo");
      }),
    ).toThrow("undo");
    expect(db.hasTable("parents")).toBe(true);
    expect(await storage.get("k")).toBe(1);
  });

  it("runs the hook's after-commit work once the wipe commits (at once, outside a block), never when it is undone", async () => {
    expect(() =>
      storage.transactionSync(() => {
        void storage.deleteAll();
        throw new Error("undo");
      }),
    ).toThrow("undo");
    db.flush();
    expect(afterCommitRuns).toBe(0);
    await storage.deleteAll();
    expect(afterCommitRuns).toBe(1);
    hookFails = true;
    await expect(storage.deleteAll()).rejects.toThrow("host cleanup failed");
    db.flush();
    expect(afterCommitRuns).toBe(1);
  });
});
