/**
 * Fibers and the event's transaction: starting a fiber joins the event that starts it (its record is
 * written with the event's writes and the function starts once they are committed), so an event that
 * fails after `void this.runFiber(…)` leaves nothing behind — no row, no fiber, no message. Inside
 * `ctx.storage.transactionSync` a fiber starts only if the block succeeds, and `stash()` (which must
 * commit at once) is refused with a clear error instead of breaking the block.
 */
import { describe, expect, it } from "vitest";
import { Agent, callable } from "../../src/index.ts";
import { TestSocket } from "../support/harness.ts";
import { envPerTest, Gates, type StoredFiber } from "./helpers.ts";

const gates = new Gates();
const reported: string[] = [];
const ran: string[] = [];

class Worker extends Agent {
  onError(error: unknown) {
    reported.push(error instanceof Error ? error.message : String(error));
  }

  async onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS notes (what TEXT)`;
  }

  /** Writes, announces, starts a fiber, then fails: the event must leave no trace. */
  @callable() failAfterFiber() {
    this.sql`INSERT INTO notes VALUES ('before the fiber')`;
    this.broadcast("before the failure");
    void this.runFiber("doomed", async () => {
      ran.push("doomed");
    });
    throw new Error("the event failed");
  }

  /** The same with startFiber, whose promise the event does not wait for. */
  failAfterStartFiber() {
    this.sql`INSERT INTO notes VALUES ('before the fiber')`;
    void this.startFiber("doomed-managed", async () => {
      ran.push("doomed-managed");
    });
    throw new Error("the event failed");
  }

  @callable() announce(text: string) {
    this.broadcast(text);
  }

  /** A fiber started inside a transactionSync block that then throws. */
  fiberInFailedBlock() {
    try {
      this.ctx.storage.transactionSync(() => {
        this.sql`INSERT INTO notes VALUES ('in the block')`;
        void this.runFiber("in-block", async () => {
          ran.push("in-block");
        });
        throw new Error("the block failed");
      });
    } catch (error) {
      return (error as Error).message;
    }
    return "no error";
  }

  /** A fiber started inside a transactionSync block that succeeds: it runs, as any other. */
  async fiberInBlock() {
    let result: Promise<string> | undefined;
    this.ctx.storage.transactionSync(() => {
      this.sql`INSERT INTO notes VALUES ('in the block')`;
      result = this.runFiber("in-block", () => Promise.resolve("ran"));
    });
    return result;
  }

  /** startFiber inside a block that succeeds: accepted once the block's writes are committed. */
  async startFiberInBlock() {
    let receipt: Promise<{ status: string; accepted: boolean }> | undefined;
    this.ctx.storage.transactionSync(() => {
      receipt = this.startFiber("in-block-managed", () => gates.get("managed").promise, { idempotencyKey: "k1" });
    });
    return receipt;
  }

  /** stash() inside a block: refused, and the block's writes are undone; the fiber goes on. */
  async stashInBlock() {
    return this.runFiber("stashing", async (ctx) => {
      ctx.stash({ step: 1 });
      let refused = "";
      try {
        this.ctx.storage.transactionSync(() => {
          this.sql`INSERT INTO notes VALUES ('in the block')`;
          ctx.stash({ step: 2 });
        });
      } catch (error) {
        refused = (error as Error).message;
      }
      this.sql`INSERT INTO notes VALUES ('after the block')`;
      ctx.stash({ step: 3 });
      return refused;
    });
  }

  /** this.stash() inside a block, from code called by the fiber. */
  async thisStashInBlock() {
    return this.runFiber("stashing", async () => {
      try {
        this.ctx.storage.transactionSync(() => this.stash({ step: 1 }));
      } catch (error) {
        return (error as Error).message;
      }
      return "no error";
    });
  }

  /** runFiber / startFiber awaited inside a transaction() closure: refused at once, the closure's writes undone. */
  async fiberInClosure(kind: "run" | "start") {
    try {
      return await this.ctx.storage.transaction(async () => {
        this.sql`INSERT INTO notes VALUES ('in the closure')`;
        if (kind === "run") return await this.runFiber("in-closure", () => Promise.resolve("ran"));
        return (await this.startFiber("in-closure-managed", () => Promise.resolve())).status;
      });
    } catch (error) {
      return (error as Error).message;
    }
  }

  ping() {
    return "pong";
  }

  notes() {
    return this.sql<{ what: string }>`SELECT what FROM notes`.map((row) => row.what);
  }

  rows(): StoredFiber[] {
    const table = this.sql<{ n: number }>`SELECT count(*) AS n FROM sqlite_master WHERE name = '_hearth_fibers'`[0]!.n;
    return table === 0 ? [] : this.sql<StoredFiber>`SELECT id, name, status, snapshot FROM _hearth_fibers ORDER BY created_at`;
  }
}

const env = envPerTest({ agents: { Worker } }, () => {
  gates.clear();
  reported.length = 0;
  ran.length = 0;
});

describe("a fiber and the event that starts it", () => {
  it("an event that fails after `void this.runFiber(…)` keeps nothing: no row, no fiber, no message", async () => {
    const t = await env();
    const socket = await TestSocket.open(`${(await t.url()).replace(/^http/, "ws")}/agents/worker/a`);
    try {
      const reply = await socket.call("failAfterFiber");
      expect(reply).toMatchObject({ success: false, error: expect.stringContaining("the event failed") as string });
      // Frames arrive in order: a message released by an early commit would have come before the reply.
      expect(socket.frames).not.toContain("before the failure");
      await socket.call("announce", ["later"]);
      await socket.waitFor((frame) => frame === "later");
      expect(socket.frames).not.toContain("before the failure");
      const w = t.get<Worker>("Worker", "a");
      expect(await w.notes()).toEqual([]);
      expect(await w.rows()).toEqual([]);
      expect(ran).toEqual([]);
      expect(reported).toContainEqual(expect.stringMatching(/Fiber "doomed" did not start: its record was rolled back/));
    } finally {
      socket.close();
    }
  });

  it("the same for startFiber", async () => {
    const w = (await env()).get<Worker>("Worker", "a");
    await expect(w.failAfterStartFiber()).rejects.toThrow("the event failed");
    expect(await w.notes()).toEqual([]);
    expect(await w.rows()).toEqual([]);
    expect(ran).toEqual([]);
  });

  it("a fiber started in a transactionSync block that throws never starts", async () => {
    const w = (await env()).get<Worker>("Worker", "a");
    expect(await w.fiberInFailedBlock()).toBe("the block failed");
    expect(await w.notes()).toEqual([]);
    expect(await w.rows()).toEqual([]);
    expect(ran).toEqual([]);
    await expect.poll(() => reported).toContainEqual(expect.stringMatching(/Fiber "in-block" did not start: its record was rolled back/));
  });

  it("a fiber started in a transactionSync block that succeeds runs once the block is committed", async () => {
    const w = (await env()).get<Worker>("Worker", "a");
    expect(await w.fiberInBlock()).toBe("ran");
    expect(await w.notes()).toEqual(["in the block"]);
    expect(await w.rows()).toEqual([]);
    const receipt = await w.startFiberInBlock();
    expect(receipt).toMatchObject({ status: "running", accepted: true });
    expect((await w.rows()).map((row) => [row.name, row.status])).toEqual([["in-block-managed", "running"]]);
    gates.get("managed").open();
    await expect.poll(async () => (await w.rows()).map((row) => row.status)).toEqual(["completed"]);
    expect(reported).toEqual([]);
  });

  it("a fiber started inside ctx.storage.transaction() is refused with a clear error instead of waiting for the closure for ever", async () => {
    const w = (await env()).get<Worker>("Worker", "a");
    for (const [kind, name] of [
      ["run", "in-closure"],
      ["start", "in-closure-managed"],
    ] as const) {
      expect(await w.fiberInClosure(kind)).toBe(
        `A fiber cannot start inside ctx.storage.transaction(): it starts once its record is committed, which is when the closure ends; start "${name}" after the closure`,
      );
    }
    // The agent goes on: its input gate is open again, and the closures' writes were undone.
    expect(await w.ping()).toBe("pong");
    expect(await w.notes()).toEqual([]);
    expect(await w.rows()).toEqual([]);
  });

  it("stash() inside transactionSync is refused with a clear error; the block is undone, the fiber goes on", async () => {
    const w = (await env()).get<Worker>("Worker", "a");
    expect(await w.stashInBlock()).toMatch(/stash\(\) cannot run inside ctx\.storage\.transactionSync/);
    expect(await w.notes()).toEqual(["after the block"]);
    expect(await w.thisStashInBlock()).toMatch(/stash\(\) cannot run inside ctx\.storage\.transactionSync/);
    expect(await w.rows()).toEqual([]);
    expect(reported).toEqual([]);
  });
});
