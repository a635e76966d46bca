/**
 * The gates of plain Durable Objects, the same as agents': events one at a time except across real
 * I/O (input gate), each event's writes atomic (implicit transaction), nothing leaves for an event
 * whose writes failed (output gate), and the constructor's blockConcurrencyWhile before any event.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DurableObject, Host, WebSocketPair, type DurableObjectNamespace, type WorkersWebSocket } from "../../src/index.ts";
import { startHarness, TestSocket, tempDir, type Harness } from "../support/harness.ts";
import { loggedErrors } from "../support/logged-errors.ts";
import { upgradeResponse } from "./helpers.ts";

const order: string[] = [];
const boots = new Map<string, number>();
let constructorFailures = 0;
let blockFailures = 0;

class Ledger extends DurableObject {
  ready = "not yet";

  constructor(ctx: ConstructorParameters<typeof DurableObject>[0], env: unknown) {
    super(ctx, env);
    const name = ctx.id.name ?? "?";
    boots.set(name, (boots.get(name) ?? 0) + 1);
    if (name.startsWith("fragile") && constructorFailures > 0) {
      constructorFailures--;
      throw new Error("the constructor could not reach its config");
    }
    // Constructor writes: committed like any other, not tied to the first event's fate.
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS entries (id TEXT PRIMARY KEY)");
    ctx.storage.kv.put("boots", (ctx.storage.kv.get<number>("boots") ?? 0) + 1);
    void ctx.blockConcurrencyWhile(async () => {
      await new Promise((resolve) => setTimeout(resolve, 10)); // real I/O: the gate stays shut anyway
      if (name.startsWith("blocked") && blockFailures > 0) {
        blockFailures--;
        throw new Error("warm-up failed");
      }
      this.ready = (await ctx.storage.get<string>("ready")) ?? "warmed up";
      order.push(`warm ${name}`);
    });
  }

  async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade") === "websocket") {
      const { 0: client, 1: server } = new WebSocketPair();
      this.ctx.acceptWebSocket(server);
      return upgradeResponse(client);
    }
    const url = new URL(request.url);
    if (url.searchParams.has("fail")) {
      this.ctx.storage.sql.exec("INSERT INTO entries (id) VALUES ('from-fetch')");
      throw new Error("fetch failed on purpose");
    }
    return Response.json({ entries: this.entries(), ready: this.ready });
  }

  /** Storage awaits keep the gate shut; a timer (real I/O) opens it. */
  async first(): Promise<void> {
    order.push("first: start");
    await this.ctx.storage.put("a", 1);
    await this.ctx.storage.get("a");
    await this.ctx.storage.list();
    order.push("first: after storage");
    await new Promise((resolve) => setTimeout(resolve, 20));
    order.push("first: after timer");
  }

  second(): void {
    order.push("second");
  }

  read(): string {
    order.push("read");
    return this.ready;
  }

  add(id: string): number {
    this.ctx.storage.sql.exec("INSERT INTO entries (id) VALUES (?)", id);
    return this.entries().length;
  }

  async addThenFail(id: string): Promise<void> {
    this.ctx.storage.sql.exec("INSERT INTO entries (id) VALUES (?)", id);
    await this.ctx.storage.put(`key-${id}`, true);
    this.ctx.storage.kv.put(`kv-${id}`, true);
    throw new Error("RPC failed on purpose");
  }

  entries(): string[] {
    return this.ctx.storage.sql.exec<{ id: string }>("SELECT id FROM entries ORDER BY id").toArray().map((row) => row.id);
  }

  async keys(): Promise<string[]> {
    return [...(await this.ctx.storage.list()).keys()];
  }

  bootCount(): number | undefined {
    return this.ctx.storage.kv.get<number>("boots");
  }

  webSocketMessage(ws: WorkersWebSocket, message: string | ArrayBuffer): void {
    const text = String(message);
    // Sends first, then writes a row that already exists: the write fails, so the event does, and
    // the message it sent must never leave.
    ws.send(`sent before the write of ${text}`);
    this.ctx.storage.sql.exec("INSERT INTO entries (id) VALUES (?)", text);
    ws.send(`stored ${text}`);
  }
}

type Ledgers = DurableObjectNamespace<Ledger>;

const worker = async (request: Request, env: Record<string, unknown>): Promise<Response> => {
  const name = new URL(request.url).pathname.split("/")[2] ?? "default";
  return (env.LEDGERS as Ledgers).getByName(name).fetch(request);
};

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  order.length = 0;
  boots.clear();
  constructorFailures = 0;
  blockFailures = 0;
});

async function start(): Promise<{ harness: Harness; ledgers: Ledgers }> {
  harness = await startHarness({}, { durableObjects: { LEDGERS: Ledger }, fetch: worker, hibernateAfterMs: 60_000 });
  return { harness, ledgers: harness.host.env.LEDGERS as Ledgers };
}

describe("input gate", () => {
  it("lets a second RPC in only while the first awaits real I/O, not storage", async () => {
    const { ledgers } = await start();
    const ledger = ledgers.getByName("gate");
    await ledger.read(); // constructed and warmed up before the race
    order.length = 0;
    await Promise.all([ledger.first(), ledger.second()]);
    expect(order).toEqual(["first: start", "first: after storage", "second", "first: after timer"]);
  });

  it("runs the constructor's blockConcurrencyWhile before the first event", async () => {
    const { ledgers } = await start();
    expect(await ledgers.getByName("warm").read()).toBe("warmed up");
    expect(order).toEqual(["warm warm", "read"]);
  });
});

describe("implicit transactions", () => {
  it("undo every write of an RPC that throws: SQL, the async KV API and the synchronous KV", async () => {
    const { ledgers } = await start();
    const ledger = ledgers.getByName("atomic");
    expect(await ledger.add("kept")).toBe(1);
    await expect(ledger.addThenFail("lost")).rejects.toThrow("RPC failed on purpose");
    expect(await ledger.entries()).toEqual(["kept"]);
    expect(await ledger.keys()).toEqual(["boots"]);
  });

  it("undo the writes of a fetch that throws; the caller gets a 500, the error is logged", async () => {
    const { harness, ledgers } = await start();
    const errors = loggedErrors();
    const response = await fetch(`${harness.url}/ledgers/fetching?fail`);
    errors.restore();
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ error: "Internal Server Error" }); // and the request id, when a logger reads ids
    expect(errors.text()).toContain("fetch failed on purpose");
    expect(await ledgers.getByName("fetching").entries()).toEqual([]);
  });

  it("commit the constructor's writes, whatever its first event does", async () => {
    const dir = tempDir();
    try {
      let host = new Host({ dataDir: dir.path, agents: {}, durableObjects: { LEDGERS: Ledger } });
      const ledger = () => (host.env.LEDGERS as Ledgers).getByName("booted");
      await expect(ledger().addThenFail("x")).rejects.toThrow("RPC failed on purpose");
      await host.close();
      host = new Host({ dataDir: dir.path, agents: {}, durableObjects: { LEDGERS: Ledger } });
      expect(await ledger().bootCount()).toBe(2);
      await host.close();
    } finally {
      dir.remove();
    }
  });
});

describe("output gate", () => {
  it("never sends a message of an event whose writes failed", async () => {
    const { harness } = await start();
    const socket = await TestSocket.open(`${harness.wsUrl}/ledgers/output`);
    socket.send("one");
    await socket.waitFor((f) => f === "stored one");
    socket.send("one"); // the INSERT fails: a duplicate key
    socket.send("two");
    await socket.waitFor((f) => f === "stored two");
    expect(socket.frames).toEqual(["sent before the write of one", "stored one", "sent before the write of two", "stored two"]);
  });
});

describe("constructor failures", () => {
  it("fail the request with the constructor's error; the next request constructs again", async () => {
    const { harness, ledgers } = await start();
    constructorFailures = 1;
    const errors = loggedErrors();
    const failed = await fetch(`${harness.url}/ledgers/fragile`);
    errors.restore();
    expect(failed.status).toBe(500);
    expect(await failed.json()).toMatchObject({ error: "Internal Server Error" }); // and the request id, when a logger reads ids
    expect(errors.text()).toContain("the constructor could not reach its config");
    expect(harness.host.stats.liveAgents).toBe(0);
    const retried = await fetch(`${harness.url}/ledgers/fragile`);
    expect(retried.status).toBe(200);
    expect(boots.get("fragile")).toBe(2);
    expect(await ledgers.getByName("fragile").bootCount()).toBe(1); // the failed construction wrote nothing
  });

  it("fail the start when the constructor's blockConcurrencyWhile throws; the next request starts afresh", async () => {
    const { ledgers } = await start();
    blockFailures = 1;
    const ledger = ledgers.getByName("blocked");
    await expect(ledger.read()).rejects.toThrow("LEDGERS failed to start: warm-up failed");
    expect(await ledger.read()).toBe("warmed up");
    expect(boots.get("blocked")).toBe(2);
    expect(order).toEqual(["warm blocked", "read"]);
  });
});
