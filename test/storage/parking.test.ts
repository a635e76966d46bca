import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, it } from "vitest";
import { AgentDatabase, type TransactionOwner } from "../../src/storage/database.ts";
import { DurableObjectStorage } from "../../src/storage/durable-storage.ts";
import { openConnectionCount, parkIdleConnections } from "../../src/storage/parking.ts";
import { whenFilesSettled } from "../../src/storage/settle.ts";
import type { Durability } from "../../src/limits.ts";
import { visitAgent } from "../../src/host/introspect.ts";
import { Agent } from "../../src/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";

class Reminder extends Agent {
  static callables = { remindIn: {}, ping: {} };
  async remindIn(seconds: number, what: string) {
    return (await this.schedule(seconds, "fire", what)).id;
  }
  fire(): void {}
  ping(): string {
    this.sql`SELECT 1`;
    return "pong";
  }
}

let t: TestEnv | undefined;

const dirs: string[] = [];
const open: AgentDatabase[] = [];
afterEach(async () => {
  await t?.close();
  t = undefined;
  for (const db of open.splice(0)) db.close();
  await whenFilesSettled();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

let owner: TransactionOwner;

function make(durability: Durability = "relaxed"): AgentDatabase {
  const dir = mkdtempSync(join(tmpdir(), "hearth-parking-"));
  dirs.push(dir);
  const db = new AgentDatabase({ path: join(dir, "a.sqlite"), durability, identity: "counter/a", currentOwner: () => owner });
  open.push(db);
  return db;
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe("parking an idle agent's connection", () => {
  it("closes it and reopens it on the next statement, with cached statements prepared again and tables known", () => {
    const db = make();
    db.execScript("CREATE TABLE notes (text TEXT)");
    const insert = "INSERT INTO notes (text) VALUES (?)";
    db.statement(insert).run("before");
    db.flush();
    expect(db.hasTable("notes")).toBe(true);
    expect(db.park()).toBe(true);
    expect(db.parked).toBe(true);
    expect(db.isOpen).toBe(true);
    expect(db.hasTable("notes")).toBe(true); // from the table cache: no reopen needed
    expect(db.parked).toBe(true);
    db.statement(insert).run("after");
    expect(db.parked).toBe(false);
    db.flush();
    expect(db.statement("SELECT text FROM notes ORDER BY rowid").all().map((row) => row.text)).toEqual(["before", "after"]);
  });

  it("waits while a transaction is pending: held output and the commit are untouched", async () => {
    const db = make();
    db.execScript("CREATE TABLE t (x)");
    db.flush();
    const sent: string[] = [];
    db.statement("INSERT INTO t VALUES (1)").run();
    db.output(() => sent.push("reply"));
    expect(db.park()).toBe(false);
    expect(sent).toEqual([]);
    await nextTurn(); // end of turn: commit, output released
    expect(sent).toEqual(["reply"]);
    expect(db.park()).toBe(true);
    db.output(() => sent.push("parked reply"));
    expect(sent).toEqual(["reply", "parked reply"]); // nothing pending: sent at once
    expect(db.statement("SELECT count(*) AS n FROM t").get()?.n).toBe(1);
  });

  it("keeps an event's savepoint: a failed event after a park rolls back only its own writes", async () => {
    const db = make();
    db.execScript("CREATE TABLE t (x)");
    db.flush();
    expect(db.park()).toBe(true);
    const good = {};
    const bad = {};
    owner = good;
    db.statement("INSERT INTO t VALUES ('good')").run();
    const goodDone = db.endEvent(good, false);
    owner = bad;
    db.statement("INSERT INTO t VALUES ('bad')").run();
    expect(db.park()).toBe(false);
    void db.endEvent(bad, true);
    owner = undefined;
    await goodDone;
    expect(db.statement("SELECT x FROM t").all().map((row) => row.x)).toEqual(["good"]);
  });

  it("waits while transactionSync runs", () => {
    const db = make();
    db.execScript("CREATE TABLE t (x)");
    db.flush();
    let parkedInside: boolean | undefined;
    db.transactionSync(() => {
      db.statement("INSERT INTO t VALUES (1)").run();
      parkedInside = db.park();
    });
    expect(parkedInside).toBe(false);
    db.flush();
    expect(db.park()).toBe(true);
  });

  it("leaves a cursor read before the park readable, and sync storage calls reopen", async () => {
    const db = make();
    const storage = new DurableObjectStorage(db, { alarms: { get: () => null, set: () => {}, delete: () => {} } });
    storage.sql.exec("CREATE TABLE t (x)");
    storage.sql.exec("INSERT INTO t VALUES (1), (2), (3)");
    storage.kv.put("k", "v");
    db.flush();
    const cursor = storage.sql.exec<{ x: number }>("SELECT x FROM t ORDER BY x");
    expect(cursor.next().value?.x).toBe(1);
    db.flush(); // the read joined this turn's transaction
    expect(db.park()).toBe(true);
    expect([...cursor].map((row) => row.x)).toEqual([2, 3]);
    expect(storage.kv.get("k")).toBe("v");
    expect(storage.sql.exec("SELECT count(*) AS n FROM t").one().n).toBe(3);
    expect(db.parked).toBe(false);
    expect(db.park()).toBe(false); // the read joined this turn's transaction
    db.flush();
    expect(db.park()).toBe(true);
    expect(storage.sql.databaseSize).toBeGreaterThan(0);
    expect(await storage.get("missing")).toBeUndefined();
  });

  it("works with strict durability", () => {
    const db = make("strict");
    db.execScript("CREATE TABLE t (x)");
    db.statement("INSERT INTO t VALUES (1)").run();
    db.flush();
    expect(db.park()).toBe(true);
    db.statement("INSERT INTO t VALUES (2)").run();
    db.flush();
    expect(db.park()).toBe(true);
    expect(db.statement("SELECT count(*) AS n FROM t").get()?.n).toBe(2);
  });

  it("parks connections unused for a whole sweep, and only those", () => {
    const idle = make();
    const used = make();
    idle.flush();
    used.flush();
    parkIdleConnections(); // both were just used: marked, not parked
    expect(parkIdleConnections()).toBe(2);
    expect([idle.parked, used.parked]).toEqual([true, true]);
    expect(openConnectionCount()).toBe(0);
    // Used again after the park: open, and parked by the second sweep without use.
    used.statement("SELECT 1").get();
    used.flush();
    parkIdleConnections();
    expect(used.parked).toBe(false);
    parkIdleConnections();
    expect(used.parked).toBe(true);
  });

  it("keeps a connection whose work is due soon open across sweeps, until that time has passed", async () => {
    const idle = make();
    const due = make();
    idle.flush();
    due.flush();
    due.keepOpenFor(300);
    parkIdleConnections();
    parkIdleConnections();
    expect(idle.parked).toBe(true);
    expect(due.parked).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 350));
    parkIdleConnections();
    parkIdleConnections();
    expect(due.parked).toBe(true);
  });

  it("an agent with a schedule due within seconds keeps its connection; one with nothing due parks", async () => {
    t = await createTestEnv({ agents: { Reminder } });
    const soon = t.get<Reminder>("Reminder", "soon");
    const later = t.get<Reminder>("Reminder", "later");
    const none = t.get<Reminder>("Reminder", "none");
    await soon.remindIn(3, "tea");
    await later.remindIn(3_600, "dinner");
    await none.ping();
    await t.host.tasksIdle();
    for (let sweep = 0; sweep < 3; sweep++) parkIdleConnections();
    const parked = async (name: string) => visitAgent(t!.host, "Reminder", name, ({ db }) => db!.parked);
    expect({ soon: await parked("soon"), later: await parked("later"), none: await parked("none") }).toEqual({ soon: false, later: true, none: true });
  });

  it("says so when another process took the file while the connection was parked", () => {
    const db = make();
    db.execScript("CREATE TABLE t (x)");
    db.flush();
    expect(db.park()).toBe(true);
    const thief = new DatabaseSync(db.path);
    thief.exec("PRAGMA locking_mode = EXCLUSIVE");
    thief.prepare("SELECT count(*) FROM t").get();
    try {
      expect(() => db.statement("SELECT count(*) FROM t")).toThrow(
        /SQL: reopening the idle \(parked\) connection failed\. Agent database .*a\.sqlite is locked by another process\. Is a second Hearth running on the same data directory\?/,
      );
      expect(db.parked).toBe(true);
    } finally {
      thief.close();
    }
    expect(db.statement("SELECT count(*) AS n FROM t").get()?.n).toBe(0);
  });

  it("is a no-op after close: storage stays closed", () => {
    const db = make();
    db.close();
    expect(db.park()).toBe(false);
    expect(db.isOpen).toBe(false);
    expect(() => db.statement("SELECT 1")).toThrow(/this agent's storage is closed/);
  });
});
