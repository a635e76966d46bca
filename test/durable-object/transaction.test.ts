/**
 * `ctx.storage.transaction()` on the real host, as on Cloudflare: the closure is a critical section
 * (no other event of the object runs until it settles, even while it awaits a timer), and everything
 * it does — key-value writes, SQL, the messages it sends — is undone together when it throws or calls
 * `txn.rollback()`. For Durable Objects and for Agents alike.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Agent, DurableObject, getAgentByName, WebSocketPair, type AgentNamespace, type DurableObjectNamespace, type WorkersWebSocket } from "../../src/index.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";
import { upgradeResponse } from "./helpers.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

class Store extends DurableObject {
  constructor(ctx: ConstructorParameters<typeof DurableObject>[0], env: unknown) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS notes (text TEXT)");
  }

  async fetch(request: Request): Promise<Response> {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    return request.headers.get("upgrade") === "websocket" ? upgradeResponse(client) : new Response("not a socket", { status: 400 });
  }

  /** "commit", "rollback" or "throw": a message sent inside the closure, one after it. */
  async webSocketMessage(ws: WorkersWebSocket, message: string | ArrayBuffer): Promise<void> {
    const mode = String(message);
    await this.ctx.storage
      .transaction(async (txn) => {
        ws.send(`inside ${mode}`);
        this.ctx.storage.sql.exec("INSERT INTO notes VALUES (?)", mode);
        await sleep(5);
        if (mode === "rollback") txn.rollback();
        if (mode === "throw") throw new Error("abort");
      })
      .catch(() => {});
    ws.send(`after ${mode}`);
  }

  notes(): string[] {
    return this.ctx.storage.sql
      .exec<{ text: string }>("SELECT text FROM notes")
      .toArray()
      .map((row) => row.text);
  }

  async undone(): Promise<Record<string, unknown>> {
    const thrown = await this.ctx.storage
      .transaction(async (txn) => {
        this.ctx.storage.sql.exec("INSERT INTO notes VALUES ('should be undone')");
        await txn.put("thrown", true);
        await sleep(5);
        throw new Error("abort");
      })
      .catch((error: Error) => error.message);
    const rolledBack = await this.ctx.storage.transaction(async (txn) => {
      this.ctx.storage.sql.exec("INSERT INTO notes VALUES ('rolled back')");
      this.ctx.storage.kv.put("rolled back", true);
      txn.rollback();
      return "rolled back";
    });
    await this.ctx.storage.transaction(async () => {
      this.ctx.storage.sql.exec("INSERT INTO notes VALUES ('kept')");
    });
    return { thrown, rolledBack, notes: this.notes(), keys: [...(await this.ctx.storage.list()).keys()] };
  }

  /** Read, wait on a timer, write: a lost update unless the transaction runs alone. */
  async increment(waitMs: number): Promise<number> {
    return this.ctx.storage.transaction(async (txn) => {
      const value = (await txn.get<number>("n")) ?? 0;
      await sleep(waitMs);
      await txn.put("n", value + 1);
      return value + 1;
    });
  }

  async plainIncrement(): Promise<number> {
    const value = ((await this.ctx.storage.get<number>("n")) ?? 0) + 1;
    await this.ctx.storage.put("n", value);
    return value;
  }

  async read(key: string): Promise<unknown> {
    return this.ctx.storage.get(key);
  }

  async nested(): Promise<Record<string, unknown>> {
    const sql = this.ctx.storage.sql;
    const outer = await this.ctx.storage.transaction(async (txn) => {
      await txn.put("outer", 1);
      const inner = await this.ctx.storage.transaction(async (inner) => {
        sql.exec("INSERT INTO notes VALUES ('inner')");
        await sleep(5);
        await inner.put("inner", 2);
        return "inner";
      });
      const failed = await this.ctx.storage
        .transaction(async () => {
          sql.exec("INSERT INTO notes VALUES ('inner undone')");
          throw new Error("inner fails");
        })
        .catch((error: Error) => error.message);
      const block = await this.ctx.blockConcurrencyWhile(async () => "block ran in place");
      this.ctx.storage.transactionSync(() => sql.exec("INSERT INTO notes VALUES ('sync')"));
      return { inner, failed, block, seen: await txn.get("inner") };
    });
    const inBlock = await this.ctx.blockConcurrencyWhile(() => this.ctx.storage.transaction(async (txn) => txn.put("in block", true)));
    const deleteAll = await this.ctx.storage.transaction(() => this.ctx.storage.deleteAll()).catch((error: Error) => error.message);
    return { outer, inBlock, deleteAll, notes: this.notes(), keys: [...(await this.ctx.storage.list()).keys()] };
  }
}

class Counter extends Agent {
  async increment(waitMs: number): Promise<number> {
    return this.ctx.storage.transaction(async (txn) => {
      const value = (await txn.get<number>("n")) ?? 0;
      await sleep(waitMs);
      await txn.put("n", value + 1);
      return value + 1;
    });
  }

  async undone(): Promise<Record<string, unknown>> {
    this.sql`CREATE TABLE IF NOT EXISTS notes (text TEXT)`;
    const thrown = await this.ctx.storage
      .transaction(async () => {
        this.sql`INSERT INTO notes VALUES ('should be undone')`;
        await sleep(5);
        throw new Error("abort");
      })
      .catch((error: Error) => error.message);
    return { thrown, notes: this.sql<{ text: string }>`SELECT text FROM notes`.map((row) => row.text), n: await this.ctx.storage.get("n") };
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

async function start(): Promise<{ harness: Harness; stores: Stores }> {
  harness = await startHarness({ Counter }, { durableObjects: { STORES: Store }, fetch: worker, hibernateAfterMs: 60_000 });
  return { harness, stores: harness.host.env.STORES as Stores };
}

describe("transaction() undoes its SQL with its other writes", () => {
  it("on a throw and on txn.rollback(); a closure that succeeds keeps it", async () => {
    const { stores } = await start();
    expect(await stores.getByName("undo").undone()).toEqual({ thrown: "abort", rolledBack: "rolled back", notes: ["kept"], keys: [] });
  });

  it("sends no message of a closure that rolls back; the messages of one that commits go after its commit", async () => {
    const { harness, stores } = await start();
    const socket = await TestSocket.open(`${harness.wsUrl}/stores/talk`);
    for (const mode of ["throw", "rollback", "commit"]) {
      socket.send(mode);
      await socket.waitFor((frame) => frame === `after ${mode}`);
    }
    expect(socket.frames).toEqual(["after throw", "after rollback", "inside commit", "after commit"]);
    expect(await stores.getByName("talk").notes()).toEqual(["commit"]);
    socket.close();
  });
});

describe("transaction() is a critical section", () => {
  it("runs two read-modify-write transactions one after the other: both count", async () => {
    const { stores } = await start();
    const store = stores.getByName("count");
    expect((await Promise.all([store.increment(50), store.increment(50)])).sort()).toEqual([1, 2]);
    expect(await store.read("n")).toBe(2);
  });

  it("makes a plain put of another event wait for it: no lost update", async () => {
    const { stores } = await start();
    const store = stores.getByName("plain");
    const first = store.increment(50);
    await sleep(10);
    expect(await Promise.all([first, store.plainIncrement()])).toEqual([1, 2]);
    expect(await store.read("n")).toBe(2);
  });

  it("nests: inner transactions, blockConcurrencyWhile and transactionSync run in place; deleteAll is refused", async () => {
    const { stores } = await start();
    expect(await stores.getByName("nest").nested()).toEqual({
      outer: { inner: "inner", failed: "inner fails", block: "block ran in place", seen: 2 },
      inBlock: undefined,
      deleteAll: "Cannot call deleteAll() within a transaction",
      notes: ["inner", "sync"],
      keys: ["in block", "inner", "outer"],
    });
  });

  it("holds in an Agent too, SQL included", async () => {
    const { harness } = await start();
    const counter = await getAgentByName(harness.host.env.Counter as AgentNamespace<Counter>, "c");
    expect((await Promise.all([counter.increment(30), counter.increment(30)])).sort()).toEqual([1, 2]);
    expect(await counter.undone()).toEqual({ thrown: "abort", notes: [], n: 2 });
  });
});
