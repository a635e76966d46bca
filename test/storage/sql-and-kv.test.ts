import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Agent, getAgentByName, SqlError, type AgentNamespace } from "../../src/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";

class Store extends Agent {
  exec(query: string, ...bindings: (string | number | null)[]) {
    const cursor = this.ctx.storage.sql.exec(query, ...bindings);
    return { columns: cursor.columnNames, rows: cursor.toArray(), written: cursor.rowsWritten, read: cursor.rowsRead };
  }
  raw(query: string) {
    return [...this.ctx.storage.sql.exec(query).raw()];
  }
  one(query: string) {
    return this.ctx.storage.sql.exec(query).one();
  }
  size() {
    return this.ctx.storage.sql.databaseSize;
  }
  tagged(min: number) {
    this.sql`CREATE TABLE IF NOT EXISTS n (v INTEGER, flag INTEGER)`;
    for (const v of [1, 2, 3, 4]) this.sql`INSERT INTO n VALUES (${v}, ${v % 2 === 0})`;
    return this.sql<{ v: number; flag: number }>`SELECT v, flag FROM n WHERE v >= ${min} ORDER BY v`;
  }
  badQuery() {
    try {
      this.sql`SELEC nonsense FROM ${"x"}`;
      return "no error";
    } catch (error) {
      return { isSqlError: error instanceof SqlError, message: (error as Error).message };
    }
  }
  kvRoundTrip() {
    const kv = this.ctx.storage.kv;
    kv.put("user:1", { name: "Ada", joined: new Date(0), tags: new Set(["x"]) });
    kv.put("user:2", "Grace");
    kv.put("user:3", 3);
    kv.put("zeta", true);
    const one = kv.get<{ name: string; joined: Date; tags: Set<string> }>("user:1")!;
    return {
      one: { name: one.name, joinedIsDate: one.joined instanceof Date, hasTag: one.tags.has("x") },
      missing: kv.get("nope") ?? null,
      prefix: [...kv.list({ prefix: "user:" }).keys()],
      reversedLimited: [...kv.list({ prefix: "user:", reverse: true, limit: 2 }).keys()],
      range: [...kv.list({ start: "user:2", end: "zeta" }).keys()],
      deleted: kv.delete("user:2"),
      deletedAgain: kv.delete("user:2"),
      after: [...kv.list().keys()],
    };
  }
}

let harness: Harness;
let store: Awaited<ReturnType<typeof getAgentByName<Store>>>;
beforeEach(async () => {
  harness = await startHarness({ Store });
  store = await getAgentByName(harness.host.env.Store as AgentNamespace<Store>, "s");
});
afterEach(() => harness.close());

describe("ctx.storage.sql.exec", () => {
  it("runs scripts, binds values and reports counters", async () => {
    await store.exec("CREATE TABLE t (a INTEGER, b TEXT); CREATE INDEX t_a ON t (a)");
    const insert = await store.exec("INSERT INTO t VALUES (?, ?), (?, ?)", 1, "one", 2, null);
    expect(insert.written).toBe(2);
    const select = await store.exec("SELECT a, b FROM t ORDER BY a");
    expect(select.columns).toEqual(["a", "b"]);
    expect(select.rows).toEqual([
      { a: 1, b: "one" },
      { a: 2, b: null },
    ]);
    expect(select.read).toBe(2);
    expect(await store.raw("SELECT 1 AS x, 2 AS x")).toEqual([[1, 2]]);
    expect(await store.one("SELECT count(*) AS n FROM t")).toEqual({ n: 2 });
    await expect(store.one("SELECT a FROM t")).rejects.toThrow("Expected exactly one result from SQL query, but got multiple results.");
    expect(await store.size()).toBeGreaterThan(0);
  });

  it("refuses transaction control, which Hearth does itself", async () => {
    for (const query of ["BEGIN", "commit", "  -- c\nROLLBACK", "SAVEPOINT x", "RELEASE hearth_event", "CREATE TABLE z (a); END", "; COMMIT", " ;; /* x */ ; ROLLBACK"]) {
      await expect(store.exec(query), query).rejects.toThrow(/is not allowed: Hearth commits each event's writes itself/);
    }
  });

  it("binds the last of several statements; refuses parameters in an earlier one", async () => {
    expect((await store.exec("SELECT 1; SELECT ? AS v", 1)).rows).toEqual([{ v: 1 }]);
    await expect(store.exec("SELECT ?; SELECT 1", 1)).rejects.toThrow(/only the last statement can have parameters/);
  });
});

describe("this.sql", () => {
  it("binds template values, including booleans", async () => {
    expect(await store.tagged(2)).toEqual([
      { v: 2, flag: 1 },
      { v: 3, flag: 0 },
      { v: 4, flag: 1 },
    ]);
  });

  it("errors carry the query text", async () => {
    const result = (await store.badQuery()) as { isSqlError: boolean; message: string };
    expect(result.isSqlError).toBe(true);
    expect(result.message).toContain("SELEC nonsense FROM ?");
  });
});

describe("ctx.storage.kv", () => {
  it("gets, puts, deletes and lists with prefix, range, limit and reverse", async () => {
    expect(await store.kvRoundTrip()).toEqual({
      one: { name: "Ada", joinedIsDate: true, hasTag: true },
      missing: null,
      prefix: ["user:1", "user:2", "user:3"],
      reversedLimited: ["user:3", "user:2"],
      range: ["user:2", "user:3"],
      deleted: true,
      deletedAgain: false,
      after: ["user:1", "user:3", "zeta"],
    });
  });
});
