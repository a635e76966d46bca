/**
 * A customer's own Durable Object, loaded from code (`env.LOADER.get(id, …).getDurableObjectClass`),
 * running in a sandbox as a facet of the operator's Durable Object: its ctx, its storage (SQL, the
 * key-value APIs, transactions), RPC and fetch, and the errors of each.
 */
import { afterEach, describe, expect, it } from "vitest";
import { WorkerLoader } from "../../src/sandbox/index.ts";
import type { Harness } from "../support/harness.ts";
import { codeHost, defineWorker, factoryRuns, forgetWorkers, startCodeHost } from "./loaded-support.ts";

const CUSTOMER = `
import { DurableObject } from "cloudflare:workers";

export class Customer extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT, data BLOB)");
      this.starts = ((await ctx.storage.get("starts")) ?? 0) + 1;
      await ctx.storage.put("starts", this.starts);
    });
  }

  identity() {
    const other = { toString: () => String(this.ctx.id) };
    return { id: String(this.ctx.id), name: this.ctx.id.name ?? null, equals: this.ctx.id.equals(other), props: this.ctx.props ?? null, greeting: this.env.GREETING, starts: this.starts };
  }

  echo(...args) { return args; }
  date() { return new Date(0); }

  sql() {
    const s = this.ctx.storage.sql;
    const insert = s.exec("INSERT INTO notes (text, data) VALUES (?, ?), (?, ?)", "a", new Uint8Array([1, 2, 3]), "b", null);
    const cursor = s.exec("SELECT id, text, data FROM notes ORDER BY id");
    const first = cursor.next().value;
    const rest = cursor.raw().toArray();
    return {
      written: insert.rowsWritten,
      columns: cursor.columnNames,
      read: cursor.rowsRead,
      first: { ...first, data: [...new Uint8Array(first.data)] },
      rest,
      one: s.exec("SELECT count(*) AS n FROM notes").one(),
      objects: s.exec("SELECT text FROM notes ORDER BY id").toArray(),
      iterated: [...s.exec("SELECT id FROM notes ORDER BY id")].map((row) => row.id),
      bigint: s.exec("SELECT ? AS v", 2n ** 40n).one().v,
      script: s.exec("CREATE TABLE IF NOT EXISTS s (x); INSERT INTO s VALUES (7); SELECT x FROM s").one().x,
      size: s.databaseSize > 0,
    };
  }

  sqlError(kind) {
    const s = this.ctx.storage.sql;
    try {
      if (kind === "syntax") s.exec("SELEC nothing");
      if (kind === "binding") s.exec("SELECT ?", {});
      if (kind === "one") s.exec("SELECT 1 WHERE 0").one();
      if (kind === "commit") s.exec("COMMIT");
      return "no error";
    } catch (e) {
      return { name: e.name, message: e.message.split("\\n")[0] };
    }
  }

  async kv() {
    const st = this.ctx.storage;
    await st.put("a", 1);
    await st.put({ b: { x: [1, "two"] }, c: null });
    const one = await st.get("b");
    const many = await st.get(["a", "c", "missing"]);
    const limited = await st.list({ prefix: "", limit: 2 });
    const reversed = await st.list({ reverse: true, end: "starts" });
    const deleted = [await st.delete("a"), await st.delete(["b", "zz"])];
    st.kv.put("sync", { y: true });
    return {
      one,
      many: [...many],
      limited: [...limited],
      reversed: [...reversed.keys()],
      deleted,
      sync: st.kv.get("sync"),
      asyncSeesSync: await st.get("sync"),
      keys: [...st.kv.list().keys()],
    };
  }

  async kvError(kind) {
    const st = this.ctx.storage;
    try {
      if (kind === "date") await st.put("k", new Date());
      if (kind === "map") await st.put({ fine: 1, bad: new Map() });
      if (kind === "undefined") await st.put("k", undefined);
      if (kind === "key") await st.put("k".repeat(2049), 1);
      if (kind === "limit") await st.list({ limit: 0 });
      if (kind === "sync-undefined") st.kv.put("k", undefined);
      return { stored: [...(await st.list()).keys()] };
    } catch (e) {
      return { name: e.name, message: e.message, stored: [...(await st.list()).keys()] };
    }
  }

  async transactions() {
    const st = this.ctx.storage;
    const committed = await st.transaction(async (txn) => {
      await txn.put("t1", 1);
      await st.put("t2", 2);
      return (await txn.get("t1")) + (await st.get("t2"));
    });
    let thrown;
    try {
      await st.transaction(async (txn) => { await txn.put("t3", 3); throw new Error("abandon"); });
    } catch (e) { thrown = e.message; }
    const rolledBack = await st.transaction(async (txn) => { await txn.put("t4", 4); txn.rollback(); return "rolled back"; });
    let leaked;
    await st.transaction(async (txn) => { leaked = txn; });
    let late;
    try { await leaked.put("t5", 5); } catch (e) { late = e.message; }
    let syncThrown;
    try {
      st.transactionSync(() => {
        st.sql.exec("CREATE TABLE t (x)");
        st.kv.put("t6", 6);
        throw new Error("undo");
      });
    } catch (e) { syncThrown = e.message; }
    const tableAfterUndo = st.sql.exec("SELECT count(*) AS n FROM sqlite_master WHERE name = 't'").one().n;
    const kept = st.transactionSync(() => {
      st.sql.exec("CREATE TABLE t (x)");
      st.sql.exec("INSERT INTO t VALUES (1), (2)");
      return st.sql.exec("SELECT count(*) AS n FROM t").one().n;
    });
    return { committed, thrown, rolledBack, late, syncThrown, tableAfterUndo, kept, keys: [...(await st.list({ prefix: "t" })).keys()] };
  }

  leaveOpen() {
    this.ctx.storage.transaction(async (txn) => { await txn.put("dangling", 1); await this.env.TICK(); });
    return "left open";
  }
  async afterLeftOpen() {
    await this.ctx.storage.put("direct", 1);
    return { dangling: (await this.ctx.storage.get("dangling")) ?? null, direct: await this.ctx.storage.get("direct") };
  }

  async misuse(kind) {
    try {
      if (kind === "nested") await this.ctx.storage.transaction(async () => this.ctx.storage.transaction(async () => 1));
      if (kind === "socket") this.ctx.acceptWebSocket({});
      return "no error";
    } catch (e) {
      return e.name + ": " + e.message;
    }
  }

  big(n) { return "x".repeat(n); }

  later() {
    this.ctx.waitUntil(this.env.TICK().then(() => this.ctx.storage.kv.put("later", "done")));
    return this.ctx.storage.kv.get("later") ?? "not yet";
  }
  readLater() { return this.ctx.storage.kv.get("later") ?? "not yet"; }

  async wipe() {
    this.ctx.storage.sql.exec("INSERT INTO notes (text) VALUES ('gone')");
    await this.ctx.storage.put("gone", true);
    await this.ctx.storage.deleteAll();
    return { keys: [...(await this.ctx.storage.list()).keys()], tables: this.ctx.storage.sql.exec("SELECT name FROM sqlite_master WHERE name = 'notes'").toArray() };
  }

  async fetch(request) {
    const url = new URL(request.url);
    const body = request.method === "POST" ? await request.text() : null;
    return new Response(JSON.stringify({ path: url.pathname, method: request.method, body }), { status: 201, headers: { "x-from": "facet" } });
  }
}

export default class extends DurableObject {
  hello() { return "from the default export"; }
}

export const notAClass = 42;
`;

const TICK = () => new Promise<number>((resolve) => setTimeout(() => resolve(1), 20));
const code = { worker: "customer-v1" };

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  forgetWorkers();
});

async function start() {
  defineWorker("customer-v1", CUSTOMER, { env: { GREETING: "hello", TICK } });
  harness = await startCodeHost();
  return codeHost(harness);
}

describe("a Durable Object loaded from code", () => {
  it("is constructed in its sandbox with ctx.id, ctx.props and the code's env", async () => {
    const host = await start();
    const props = { worker: "customer-v1", options: { props: { plan: "pro" } } };
    expect(await host.call("acme", props, "identity")).toEqual({
      value: { id: "acme", name: null, equals: true, props: { plan: "pro" }, greeting: "hello", starts: 1 },
    });
    expect(await host.call("acme", props, "echo", 1, "two", [3], { four: null })).toEqual({ value: [1, "two", [3], { four: null }] });
    expect(await host.call("globex", code, "identity")).toMatchObject({ value: { id: "globex", props: null, starts: 1 } });
    // One factory run for the worker; each facet has a sandbox of its own, loaded from that code.
    expect(factoryRuns.get("customer-v1")).toBe(1);
  });

  it("runs ctx.storage.sql synchronously: cursors, blobs, bigints, scripts", async () => {
    const host = await start();
    expect(await host.call("acme", code, "sql")).toEqual({
      value: {
        written: 2,
        columns: ["id", "text", "data"],
        read: 2,
        first: { id: 1, text: "a", data: [1, 2, 3] },
        rest: [[2, "b", null]],
        one: { n: 2 },
        objects: [{ text: "a" }, { text: "b" }],
        iterated: [1, 2],
        bigint: 2 ** 40,
        script: 7,
        size: true,
      },
    });
  });

  it("gives SQL errors with the storage's texts", async () => {
    const host = await start();
    expect(await host.call("acme", code, "sqlError", "syntax")).toEqual({ value: { name: "SqlError", message: 'near "SELEC": syntax error' } });
    expect(await host.call("acme", code, "sqlError", "binding")).toEqual({ value: { name: "SqlError", message: "Cannot bind object as parameter 1" } });
    expect(await host.call("acme", code, "sqlError", "one")).toEqual({ value: { name: "Error", message: "Expected exactly one result from SQL query, but got no results." } });
    expect(await host.call("acme", code, "sqlError", "commit")).toMatchObject({ value: { name: "SqlError", message: expect.stringContaining("COMMIT is not allowed") } });
  });

  it("has the key-value APIs, async and synchronous, over the same entries", async () => {
    const host = await start();
    expect(await host.call("acme", code, "kv")).toEqual({
      value: {
        one: { x: [1, "two"] },
        many: [["a", 1], ["c", null]],
        limited: [["a", 1], ["b", { x: [1, "two"] }]],
        reversed: ["c", "b", "a"],
        deleted: [true, 1],
        sync: { y: true },
        asyncSeesSync: { y: true },
        keys: ["c", "starts", "sync"],
      },
    });
  });

  it("refuses values JSON would change, and keeps the storage's own errors", async () => {
    const host = await start();
    const json = "; Durable Objects loaded from code take, return and store JSON values only";
    expect(await host.call("acme", code, "kvError", "date")).toEqual({ value: { name: "TypeError", message: `put(): the value is a Date${json}`, stored: ["starts"] } });
    expect(await host.call("acme", code, "kvError", "map")).toEqual({ value: { name: "TypeError", message: `put(): the value of "bad" is a Map${json}`, stored: ["starts"] } });
    expect(await host.call("acme", code, "kvError", "undefined")).toMatchObject({ value: { name: "TypeError", message: "put() called with undefined value." } });
    expect(await host.call("acme", code, "kvError", "key")).toMatchObject({ value: { name: "RangeError", message: "Keys cannot be larger than 2048 bytes. A key of size 2049 was provided." } });
    expect(await host.call("acme", code, "kvError", "limit")).toMatchObject({ value: { name: "TypeError", message: "List limit must be positive." } });
    expect(await host.call("acme", code, "kvError", "sync-undefined")).toMatchObject({
      value: { name: "TypeError", message: 'kv.put("k"): value is undefined; use kv.delete to remove a key' },
    });
  });

  it("runs transaction() and transactionSync() atomically", async () => {
    const host = await start();
    expect(await host.call("acme", code, "transactions")).toEqual({
      value: {
        committed: 3,
        thrown: "abandon",
        rolledBack: "rolled back",
        late: "Cannot call put() on transaction that has already committed: did you move `txn` outside of the closure?",
        syncThrown: "undo",
        tableAfterUndo: 0,
        kept: 2,
        keys: ["t1", "t2"],
      },
    });
  });

  it("drops a transaction an event did not wait for; the next event's calls are its own", async () => {
    const host = await start();
    expect(await host.call("acme", code, "leaveOpen")).toEqual({ value: "left open" });
    expect(await host.call("acme", code, "afterLeftOpen")).toEqual({ value: { dangling: null, direct: 1 } });
    await new Promise((resolve) => setTimeout(resolve, 50)); // the closure ends, in no event
    expect(await host.call("acme", code, "afterLeftOpen")).toEqual({ value: { dangling: null, direct: 1 } });
  });

  it("drains waitUntil() after the event, and wipes everything with deleteAll()", async () => {
    const host = await start();
    expect(await host.call("acme", code, "later")).toEqual({ value: "not yet" });
    let seen: unknown;
    for (let i = 0; i < 200 && seen !== "done"; i++) {
      seen = ((await host.call("acme", code, "readLater")) as { value: unknown }).value;
      if (seen !== "done") await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(seen).toBe("done");
    expect(await host.call("acme", code, "wipe")).toEqual({ value: { keys: [], tables: [] } });
  });

  it("answers fetch() with the object's Response", async () => {
    const host = await start();
    expect(await host.fetchFacet("acme", code, "https://facet.example/notes?x=1", { method: "POST", body: "hi" })).toEqual({
      status: 201,
      body: JSON.stringify({ path: "/notes", method: "POST", body: "hi" }),
    });
  });

  it("runs a class exported as default, and refuses what is not a class", async () => {
    const host = await start();
    expect(await host.call("d", { worker: "customer-v1", exportName: "default" }, "hello")).toEqual({ value: "from the default export" });
    expect(await host.call("x", { worker: "customer-v1", exportName: "Missing" }, "hello")).toEqual({
      error: { name: "Error", message: 'Missing failed to start: The worker exports no Durable Object class named "Missing"' },
    });
    expect(await host.call("y", { worker: "customer-v1", exportName: "notAClass" }, "hello")).toEqual({
      error: { name: "Error", message: 'notAClass failed to start: The export "notAClass" of the worker is not a class' },
    });
  });

  it("refuses nested transactions and WebSockets, and bounds an event's output", async () => {
    const host = await start();
    expect(await host.call("acme", code, "misuse", "nested")).toEqual({
      value: "Error: transaction() inside another transaction() is not supported in Durable Objects loaded from code",
    });
    expect(await host.call("acme", code, "misuse", "socket")).toEqual({
      value: "TypeError: WebSockets are not available to Durable Objects loaded from code on Hearth: answer over fetch() or RPC",
    });
    const small = { worker: "customer-v1", options: { limits: { maxOutputBytes: 1024 } } };
    // The result crosses as {"ok":true,"value":{"r":"x…x","w":0}}: 34 bytes around the string.
    expect(await host.call("tiny", small, "big", 100)).toEqual({ value: "x".repeat(100) });
    expect(await host.call("tiny", small, "big", 2000)).toEqual({
      error: { name: "SandboxLimitError", message: "output of 1024 bytes exceeded (maxOutputBytes): the result is 2034 bytes", limit: "maxOutputBytes" },
    });
    // Not a stop: the same sandbox goes on.
    expect(await host.call("tiny", small, "identity")).toMatchObject({ value: { starts: 1 } });
  });

  it("refuses RPC to methods it does not have and arguments or results that are not JSON", async () => {
    const host = await start();
    const json = "; Durable Objects loaded from code take, return and store JSON values only";
    expect(await host.call("acme", code, "missing")).toEqual({ error: { name: "TypeError", message: 'The RPC receiver does not implement the method "missing".' } });
    expect(await host.call("acme", code, "alarm")).toEqual({ error: { name: "TypeError", message: 'The RPC receiver does not implement the method "alarm".' } });
    expect(await host.call("acme", code, "toString")).toEqual({ error: { name: "TypeError", message: 'The RPC receiver does not implement the method "toString".' } });
    expect(await host.call("acme", code, "constructor")).toEqual({ error: { name: "TypeError", message: 'The RPC receiver does not implement the method "constructor".' } });
    expect(await host.call("acme", code, "echo", 1, { when: new Date(0) })).toEqual({ error: { name: "TypeError", message: `RPC to echo(): argument 2.when is a Date${json}` } });
    expect(await host.call("acme", code, "echo", [1, undefined])).toEqual({ error: { name: "TypeError", message: `RPC to echo(): argument 1[1] is undefined${json}` } });
    expect(await host.call("acme", code, "date")).toEqual({ error: { name: "TypeError", message: `date(): the result is a Date${json}` } });
    expect(await host.call("acme", code, "echo", "still fine")).toEqual({ value: ["still fine"] });
  });

  it("fails to start with the code's own error when the code does not load", async () => {
    defineWorker("broken", "export class Customer {");
    harness = await startCodeHost();
    const outcome = (await codeHost(harness).call("b", { worker: "broken" }, "anything")) as { error: { message: string } };
    expect(outcome.error.message).toMatch(/^Customer failed to start: SyntaxError: /);
  });
});

describe("getDurableObjectClass", () => {
  const loader = new WorkerLoader();
  const worker = loader.get("w", () => ({ mainModule: "m.js", modules: { "m.js": "" } }));

  it("names the default export when no name is given", () => {
    expect(worker.getDurableObjectClass()).toMatchObject({ workerId: "w", exportName: "default" });
    expect(worker.getDurableObjectClass("App")).toMatchObject({ workerId: "w", exportName: "App" });
  });

  it("refuses bad names, props and limits", () => {
    expect(() => worker.getDurableObjectClass("")).toThrow("getDurableObjectClass(name): name must be a non-empty string");
    expect(() => worker.getDurableObjectClass("App", { props: { when: new Date() } })).toThrow(
      "getDurableObjectClass(): props.when is a Date; Durable Objects loaded from code take, return and store JSON values only",
    );
    expect(() => worker.getDurableObjectClass("App", { limits: { cpu: 5 } as never })).toThrow(
      'getDurableObjectClass(): unknown limit "cpu" (known: memoryBytes, cpuMs, wallMs, maxOutputBytes, subRequests)',
    );
    expect(() => worker.getDurableObjectClass("App", { limits: { cpuMs: -1 } })).toThrow("getDurableObjectClass(): limits.cpuMs must be a positive number, got -1");
    // Cloudflare's limits are accepted (subRequests is not enforced).
    expect(worker.getDurableObjectClass("App", { limits: { cpuMs: 50, subRequests: 10 } })).toMatchObject({ exportName: "App" });
  });
});
