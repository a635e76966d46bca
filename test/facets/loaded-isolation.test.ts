/**
 * Two customers' code as facets of one operator: the same table and key names, their data never
 * crossing; what the code can try to reach beyond its own database (files by SQL, other modules,
 * Hearth's tables, the host's globals) gets nothing.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, it } from "vitest";
import type { Harness } from "../support/harness.ts";
import { codeHost, defineWorker, forgetWorkers, startCodeHost } from "./loaded-support.ts";

const customer = (owner: string) => `
import { DurableObject } from "cloudflare:workers";
const OWNER = ${JSON.stringify(owner)};

export class Customer extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS notes (text TEXT)");
  }

  write(text) {
    this.ctx.storage.sql.exec("INSERT INTO notes VALUES (?)", text);
    this.ctx.storage.kv.put("profile", { owner: OWNER });
  }

  read() {
    return {
      notes: this.ctx.storage.sql.exec("SELECT text FROM notes").toArray().map((row) => row.text),
      profile: this.ctx.storage.kv.get("profile") ?? null,
      keys: [...this.ctx.storage.kv.list().keys()],
    };
  }

  sql(query) {
    try {
      return { rows: this.ctx.storage.sql.exec(query).toArray() };
    } catch (e) {
      return { error: e.name + ": " + e.message.split("\\n")[0] };
    }
  }

  async importOther(specifier) {
    try {
      await import(specifier);
      return "imported";
    } catch (e) {
      return e.message;
    }
  }

  globals() {
    return {
      process: typeof process, require: typeof require, fs: typeof fs, Deno: typeof Deno, setTimeout: typeof setTimeout,
      LOADER: typeof this.env.LOADER, Hosts: typeof globalThis.Hosts, envKeys: Object.keys(this.env),
    };
  }
}
`;

let harness: Harness | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  forgetWorkers();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const alice = { worker: "alice-v1" };
const bob = { worker: "bob-v1" };

async function start(dataDir?: string) {
  defineWorker("alice-v1", customer("alice"), { env: { PLAN: "free" } });
  defineWorker("bob-v1", customer("bob"));
  harness = await startCodeHost(dataDir ? { dataDir } : {});
  return codeHost(harness);
}

/** The facet database files under the operator's directory. */
function facetFiles(dataDir: string): string[] {
  const dir = join(dataDir, "agents", "hosts");
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((file) => file.includes(".facets") && file.endsWith(".sqlite"))
    .map((file) => join(dir, file));
}

function notesIn(file: string): string[] {
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return (db.prepare("SELECT text FROM notes").all() as Array<{ text: string }>).map((row) => row.text);
  } finally {
    db.close();
  }
}

describe("customers' code in facets", () => {
  it("keeps each customer's data in its own database, with the same table and key names", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "hearth-loaded-"));
    dirs.push(dataDir);
    const host = await start(dataDir);
    await host.remember("the operator's secret");
    await host.call("alice", alice, "write", "alice's first");
    await host.call("bob", bob, "write", "bob's first");
    await host.call("alice", alice, "write", "alice's second");
    expect(await host.call("alice", alice, "read")).toEqual({
      value: { notes: ["alice's first", "alice's second"], profile: { owner: "alice" }, keys: ["profile"] },
    });
    expect(await host.call("bob", bob, "read")).toEqual({ value: { notes: ["bob's first"], profile: { owner: "bob" }, keys: ["profile"] } });

    await harness!.close();
    harness = undefined;
    const files = facetFiles(dataDir);
    expect(files).toHaveLength(2);
    expect(files.map(notesIn).sort()).toEqual([["alice's first", "alice's second"], ["bob's first"]]);
  });

  it("gives facets named with path tricks databases of their own", async () => {
    const host = await start();
    await host.call("bob", bob, "write", "the real bob");
    for (const name of ["../bob", "bob/..", "./bob", "Bob", "bob\u0000x".replace("\u0000", "/")]) {
      await host.call(name, alice, "write", `as ${name}`);
      expect(await host.call(name, alice, "read")).toMatchObject({ value: { notes: [`as ${name}`] } });
    }
    expect(await host.call("bob", bob, "read")).toMatchObject({ value: { notes: ["the real bob"] } });
    expect(facetFiles(harness!.dataDir)).toHaveLength(6);
  });

  it("refuses SQL that names files, changes how the file is kept, or reaches Hearth's tables", async () => {
    const host = await start();
    await host.call("bob", bob, "write", "bob's note");
    const [bobFile] = facetFiles(harness!.dataDir);
    const refused = {
      [`ATTACH DATABASE '${bobFile}' AS other`]: "SqlError: ATTACH is not allowed: a Durable Object loaded from code has one database, its own",
      "attach '../bob.sqlite' as other": "SqlError: ATTACH is not allowed: a Durable Object loaded from code has one database, its own",
      "SELECT 1; /* then */ ATTACH 'x.sqlite' AS x": "SqlError: ATTACH is not allowed: a Durable Object loaded from code has one database, its own",
      "DETACH other": "SqlError: DETACH is not allowed: a Durable Object loaded from code has one database, its own",
      "VACUUM INTO '/tmp/hearth-stolen.sqlite'": "SqlError: VACUUM is not allowed: a Durable Object loaded from code has one database, its own",
      "PRAGMA journal_mode = DELETE": expect.stringMatching(/^SqlError: PRAGMA journal_mode is not allowed here; allowed: table_info, /),
      "PRAGMA writable_schema = 1": expect.stringMatching(/^SqlError: PRAGMA writable_schema is not allowed here/),
      'PRAGMA "cache_size" = 1000000': expect.stringMatching(/^SqlError: PRAGMA \(unreadable\) is not allowed here/),
      "PRAGMA temp.table_info(notes)": expect.stringMatching(/^SqlError: PRAGMA table_info is not allowed here/),
      // SQLite applies a PRAGMA when it prepares it, EXPLAIN or not: soft_heap_limit is the whole process's.
      "EXPLAIN PRAGMA soft_heap_limit = 1": expect.stringMatching(/^SqlError: PRAGMA soft_heap_limit is not allowed here/),
      "explain query plan /* x */ PRAGMA query_only = 1": expect.stringMatching(/^SqlError: PRAGMA query_only is not allowed here/),
      "EXPLAIN /**/ QUERY PLAN PRAGMA cache_size = 7": expect.stringMatching(/^SqlError: PRAGMA cache_size is not allowed here/),
      "EXPLAIN QUERY/**/PLAN PRAGMA cache_size = 8": expect.stringMatching(/^SqlError: PRAGMA cache_size is not allowed here/),
      "EXPLAIN--x\nQUERY PLAN PRAGMA cache_size = 9": expect.stringMatching(/^SqlError: PRAGMA cache_size is not allowed here/),
      "EXPLAIN VACUUM INTO '/tmp/hearth-stolen.sqlite'": "SqlError: VACUUM is not allowed: a Durable Object loaded from code has one database, its own",
      "SELECT * FROM _hearth_meta": "SqlError: access to Hearth's internal tables (_hearth_*) is not allowed: use ctx.storage's key-value and alarm methods",
      "UPDATE \"_HEARTH_META\" SET value = 'Hosts' WHERE key = 'facet-class'":
        "SqlError: access to Hearth's internal tables (_hearth_*) is not allowed: use ctx.storage's key-value and alarm methods",
    };
    for (const [query, error] of Object.entries(refused)) {
      expect(await host.call("alice", alice, "sql", query), query).toEqual({ value: { error } });
    }
    expect(await host.call("alice", alice, "sql", "EXPLAIN QUERY PLAN SELECT * FROM notes")).toMatchObject({ value: { rows: [expect.objectContaining({ detail: expect.stringMatching(/SCAN notes/) })] } });
    expect(await host.call("alice", alice, "sql", "PRAGMA table_info(notes)")).toMatchObject({ value: { rows: [{ name: "text", type: "TEXT" }] } });
    expect(await host.call("alice", alice, "sql", "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'notes'")).toEqual({
      value: { rows: [{ name: "notes" }] },
    });
    expect(await host.call("bob", bob, "read")).toMatchObject({ value: { notes: ["bob's note"] } });
  });

  it("lets the code import only its own modules", async () => {
    const host = await start();
    for (const specifier of ["../bob-v1/main.js", "/etc/passwd", "node:fs", "fs", "https://example.com/x.js"]) {
      const outcome = (await host.call("alice", alice, "importOther", specifier)) as { value: string };
      expect(outcome.value, specifier).toMatch(/^Cannot find module '.*': only the modules given to the sandbox can be imported$/);
    }
  });

  it("gives the code only its own env: no host globals, no loader, no namespaces", async () => {
    const host = await start();
    expect(await host.call("alice", alice, "globals")).toEqual({
      value: { process: "undefined", require: "undefined", fs: "undefined", Deno: "undefined", setTimeout: "undefined", LOADER: "undefined", Hosts: "undefined", envKeys: ["PLAN"] },
    });
  });
});
