/**
 * `ctx.storage` used from inside Durable Object events (fetch, RPC, socket messages, alarms): the
 * async KV API, `sql`, the synchronous `kv`, `transaction`, `transactionSync` and `deleteAll`. The API
 * itself is tested under test/storage; this is the integration with the actor.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DurableObject, VirtualClock, WebSocketPair, type DurableObjectNamespace, type WorkersWebSocket } from "../../src/index.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";
import { upgradeResponse } from "./helpers.ts";

const START = Date.parse("2026-03-01T00:00:00Z");

class Store extends DurableObject {
  constructor(ctx: ConstructorParameters<typeof DurableObject>[0], env: unknown) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, text TEXT)");
  }

  async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade") === "websocket") {
      const { 0: client, 1: server } = new WebSocketPair();
      this.ctx.acceptWebSocket(server);
      return upgradeResponse(client);
    }
    if (request.method === "PUT") {
      await this.ctx.storage.put(new URL(request.url).searchParams.get("key")!, await request.text());
      return new Response("stored");
    }
    return Response.json(Object.fromEntries(await this.ctx.storage.list()));
  }

  async everyApi(): Promise<Record<string, unknown>> {
    await this.ctx.storage.put("a", 1);
    await this.ctx.storage.put({ b: { nested: true }, c: [3] });
    this.ctx.storage.sql.exec("INSERT INTO notes (text) VALUES (?), (?)", "first", "second");
    this.ctx.storage.kv.put("d", "from kv");
    return {
      get: await this.ctx.storage.get("a"),
      getMany: Object.fromEntries(await this.ctx.storage.get(["a", "b", "missing"])),
      list: [...(await this.ctx.storage.list({ start: "b", limit: 2 })).keys()],
      asyncSeesKv: await this.ctx.storage.get("d"),
      kvSeesAsync: this.ctx.storage.kv.get("c"),
      notes: this.ctx.storage.sql.exec<{ text: string }>("SELECT text FROM notes ORDER BY id").toArray().map((row) => row.text),
      deleted: await this.ctx.storage.delete(["a", "missing"]),
    };
  }

  async transactions(): Promise<Record<string, unknown>> {
    await this.ctx.storage.transaction(async (txn) => {
      await txn.put("committed", true);
      this.ctx.storage.sql.exec("INSERT INTO notes (text) VALUES ('in transaction')");
    });
    await this.ctx.storage.transaction(async (txn) => {
      await txn.put("rolled back", true);
      txn.rollback();
    });
    const thrown = await this.ctx.storage
      .transaction(async (txn) => {
        await txn.put("thrown", true);
        throw new Error("undo");
      })
      .catch((error: Error) => error.message);
    let syncThrown = "";
    try {
      this.ctx.storage.transactionSync(() => {
        this.ctx.storage.sql.exec("INSERT INTO notes (text) VALUES ('sync, undone')");
        throw new Error("sync undo");
      });
    } catch (error) {
      syncThrown = (error as Error).message;
    }
    return {
      keys: [...(await this.ctx.storage.list()).keys()],
      thrown,
      syncThrown,
      notes: this.ctx.storage.sql.exec<{ text: string }>("SELECT text FROM notes").toArray().map((row) => row.text),
    };
  }

  async wipe(): Promise<Record<string, unknown>> {
    await this.ctx.storage.put("x", 1);
    await this.ctx.storage.setAlarm(START + 60_000);
    await this.ctx.storage.deleteAll();
    const tables = this.ctx.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")
      .toArray()
      .map((row) => row.name);
    return { keys: [...(await this.ctx.storage.list()).keys()], alarm: await this.ctx.storage.getAlarm(), tables };
  }

  /** Embeddings kept as BLOBs, the usual way: bound as a Float32Array, read back through the ArrayBuffer. */
  embeddings(): Record<string, unknown> {
    const sql = this.ctx.storage.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS vectors (id TEXT PRIMARY KEY, embedding BLOB)");
    sql.exec("INSERT INTO vectors VALUES (?, ?)", "a", new Float32Array([0.5, -1, 2]));
    sql.exec("INSERT INTO vectors VALUES (?, ?)", "b", new Uint8Array([1, 2, 3, 4]).buffer);
    const rows = sql.exec<{ id: string; embedding: ArrayBuffer }>("SELECT id, embedding FROM vectors ORDER BY id").toArray();
    const raw = [...sql.exec("SELECT embedding FROM vectors WHERE id = 'b'").raw()][0]![0];
    return {
      buffers: rows.map((row) => row.embedding instanceof ArrayBuffer),
      vector: [...new Float32Array(rows[0]!.embedding)],
      bytes: [...new Uint8Array(rows[1]!.embedding)],
      raw: raw instanceof ArrayBuffer ? new DataView(raw).getUint8(3) : raw,
    };
  }

  async synced(): Promise<string> {
    await this.ctx.storage.put("sync", "me");
    await this.ctx.storage.sync();
    return "synced";
  }

  async get(key: string): Promise<unknown> {
    return this.ctx.storage.get(key);
  }

  async arm(at: number): Promise<void> {
    await this.ctx.storage.setAlarm(at);
  }

  async alarm(): Promise<void> {
    await this.ctx.storage.put("alarm ran", true);
    this.ctx.storage.sql.exec("INSERT INTO notes (text) VALUES ('from the alarm')");
  }

  async webSocketMessage(ws: WorkersWebSocket, message: string | ArrayBuffer): Promise<void> {
    const count = ((await this.ctx.storage.get<number>("messages")) ?? 0) + 1;
    await this.ctx.storage.put("messages", count);
    ws.send(`${String(message)} #${count}`);
  }
}

type Stores = DurableObjectNamespace<Store>;

const worker = async (request: Request, env: Record<string, unknown>): Promise<Response> => {
  const name = new URL(request.url).pathname.split("/")[2] ?? "default";
  return (env.STORES as Stores).getByName(name).fetch(request);
};

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function start(clock?: VirtualClock): Promise<{ harness: Harness; stores: Stores }> {
  harness = await startHarness({}, { durableObjects: { STORES: Store }, fetch: worker, hibernateAfterMs: 60_000, ...(clock ? { clock } : {}) });
  return { harness, stores: harness.host.env.STORES as Stores };
}

describe("ctx.storage inside Durable Object events", () => {
  it("offers the async KV API, sql and the synchronous kv over one set of entries", async () => {
    const { stores } = await start();
    expect(await stores.getByName("apis").everyApi()).toEqual({
      get: 1,
      getMany: { a: 1, b: { nested: true } },
      list: ["b", "c"],
      asyncSeesKv: "from kv",
      kvSeesAsync: [3],
      notes: ["first", "second"],
      deleted: 1,
    });
  });

  it("sql.exec binds any typed array as a BLOB and gives BLOBs back as ArrayBuffers, as Cloudflare does", async () => {
    const { stores } = await start();
    expect(await stores.getByName("vectors").embeddings()).toEqual({ buffers: [true, true], vector: [0.5, -1, 2], bytes: [1, 2, 3, 4], raw: 4 });
  });

  it("runs transaction() and transactionSync() inside an event", async () => {
    const { stores } = await start();
    expect(await stores.getByName("txn").transactions()).toEqual({
      keys: ["committed"],
      thrown: "undo",
      syncThrown: "sync undo",
      notes: ["in transaction"],
    });
  });

  it("deleteAll() removes keys, tables and the alarm; the object keeps working", async () => {
    const { stores } = await start(new VirtualClock({ start: START }));
    const store = stores.getByName("wiped");
    expect(await store.wipe()).toEqual({ keys: [], alarm: null, tables: [] });
    expect(await store.synced()).toBe("synced");
    expect(await store.get("sync")).toBe("me");
  });

  it("keeps what fetch, socket messages and alarms stored across hibernation", async () => {
    const clock = new VirtualClock({ start: START });
    const { harness, stores } = await start(clock);
    const put = await fetch(`${harness.url}/stores/kept?key=greeting`, { method: "PUT", body: "hello" });
    expect(await put.text()).toBe("stored");
    const socket = await TestSocket.open(`${harness.wsUrl}/stores/kept`);
    socket.send("m");
    await socket.waitFor((f) => f === "m #1");
    await stores.getByName("kept").arm(START + 1000);
    await clock.advance("2 s");
    await harness.host.tasksIdle();
    expect(harness.host.hibernateIdleAgents()).toBe(1);
    socket.send("m");
    await socket.waitFor((f) => f === "m #2");
    const listed = await (await fetch(`${harness.url}/stores/kept`)).json();
    expect(listed).toEqual({ "alarm ran": true, greeting: "hello", messages: 2 });
  });
});
