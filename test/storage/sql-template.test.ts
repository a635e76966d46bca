/**
 * An agent's `` this.sql`…` `` answers as the Agents SDK's does, which is `[...ctx.storage.sql.exec(query, ...values)]`:
 * every statement of the template runs, and the values must match the last statement's parameters.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Agent, getAgentByName, Host, type AgentNamespace } from "../../src/index.ts";

class Tables extends Agent {
  createTwo() {
    this.sql`CREATE TABLE IF NOT EXISTS a (x); CREATE TABLE IF NOT EXISTS b (y)`;
    return this.sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name IN ('a', 'b') ORDER BY name`.map((row) => row.name);
  }

  insertTwo() {
    this.sql`CREATE TABLE IF NOT EXISTS c (x)`;
    const rows = this.sql`INSERT INTO c VALUES (1); INSERT INTO c VALUES (2)`;
    return { rows, count: this.sql<{ n: number }>`SELECT count(*) AS n FROM c`[0]!.n };
  }

  lastHasRows(min: number) {
    return this.sql`CREATE TABLE IF NOT EXISTS d (x); INSERT INTO d VALUES (1), (2), (3); SELECT x FROM d WHERE x >= ${min} ORDER BY x`;
  }

  questionMarkInText() {
    return this.sql`SELECT '?' AS q, ${5} AS v`;
  }

  failure(which: "count" | "earlier" | "missing") {
    try {
      if (which === "count") this.sql`SELECT ?2 AS v, ${1} AS w`;
      else if (which === "earlier") this.sql`SELECT ${1}; SELECT 2`;
      else this.sql`SELECT * FROM nowhere`;
      return "ran";
    } catch (error) {
      return { name: (error as Error).name, message: (error as Error).message.split("\n")[0] };
    }
  }
}

let host: Host | undefined;
let dataDir: string | undefined;
afterEach(async () => {
  await host?.close();
  host = undefined;
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
});

async function agent() {
  dataDir = mkdtempSync(join(tmpdir(), "hearth-sql-template-"));
  host = new Host({ dataDir, agents: { Tables } });
  return getAgentByName(host.env.Tables as AgentNamespace<Tables>, "t");
}

describe("this.sql with several statements", () => {
  it("runs every statement of the template, not only the first", async () => {
    const tables = await agent();
    expect(await tables.createTwo()).toEqual(["a", "b"]);
    expect(await tables.insertTwo()).toEqual({ rows: [], count: 2 });
  });

  it("returns the last statement's rows, with the values bound to it", async () => {
    const tables = await agent();
    expect(await tables.lastHasRows(2)).toEqual([{ x: 2 }, { x: 3 }]);
  });

  it("counts only real parameters ('?' inside a string literal is text)", async () => {
    const tables = await agent();
    expect(await tables.questionMarkInText()).toEqual([{ q: "?", v: 5 }]);
  });

  it("refuses a wrong number of values, and values for an earlier statement, as sql.exec does", async () => {
    const tables = await agent();
    expect(await tables.failure("count")).toEqual({ name: "SqlError", message: "Wrong number of parameter bindings for SQL query. (1 given, 3 in the statement)" });
    expect(await tables.failure("earlier")).toEqual({
      name: "SqlError",
      message: "When executing multiple SQL statements in a single call, only the last statement can have parameters.",
    });
    expect(await tables.failure("missing")).toEqual({ name: "SqlError", message: "no such table: nowhere" });
  });
});
