/**
 * A fiber and another event's `ctx.storage.transaction()`: while the closure is open the agent's
 * input gate is shut, but a fiber does not wait for the gate, and its statements are refused then
 * (they could neither commit nor join the closure). Its end and its checkpoints wait for the closure
 * to end and are written then: a fiber that returned in that window is not recovered as if it were
 * still running, `startFiber(…, { waitForCompletion })` resolves, and `stash()` does not throw.
 */
import { describe, expect, it } from "vitest";
import { Agent, type FiberRecoveryContext } from "../../src/index.ts";
import { envPerTest, Gates, type StoredFiber } from "./helpers.ts";

const gates = new Gates();
/** What happened, in order: the test waits on these instead of sleeping. */
const events: string[] = [];
const recovered: string[] = [];
const reported: string[] = [];

class Ledger extends Agent {
  onError(error: unknown) {
    reported.push(error instanceof Error ? error.message : String(error));
  }

  async onFiberRecovered(ctx: FiberRecoveryContext) {
    recovered.push(ctx.name);
  }

  /** A runFiber fiber that returns when the test opens "fiber". */
  begin() {
    void this.runFiber("send-invoice", async () => {
      await gates.get("fiber").promise;
      events.push("fiber returned");
    });
  }

  /** A startFiber fiber whose caller waits for its completion. */
  async startAndWait() {
    const receipt = await this.startFiber(
      "job",
      async () => {
        events.push("job started");
        await gates.get("fiber").promise;
        events.push("fiber returned");
      },
      { fiberId: "j1", waitForCompletion: true },
    );
    return receipt.status;
  }

  /** A fiber that checkpoints when the test opens "stash", then runs on until "fiber". */
  stashing() {
    void this.runFiber("stashing", async (ctx) => {
      ctx.stash({ step: 1 });
      await gates.get("stash").promise;
      try {
        ctx.stash({ step: 2 });
        events.push("stash returned");
      } catch (error) {
        events.push(`stash threw: ${(error as Error).message}`);
      }
      await gates.get("fiber").promise;
    });
  }

  /** Holds a transaction() closure open until the test opens "txn" (an awaited chain of storage calls would). */
  async hold() {
    await this.ctx.storage.transaction(async () => {
      this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS notes (what TEXT)");
      events.push("closure open");
      await gates.get("txn").promise;
      this.ctx.storage.sql.exec("INSERT INTO notes VALUES ('in the closure')");
    });
  }

  async status(id: string) {
    return (await this.inspectFiber(id))?.status;
  }

  rows(): StoredFiber[] {
    return this.sql<StoredFiber>`SELECT id, name, status, snapshot FROM _hearth_fibers ORDER BY created_at`;
  }
}

const env = envPerTest({ agents: { Ledger } }, () => {
  gates.clear();
  events.length = 0;
  recovered.length = 0;
  reported.length = 0;
});

/** Opens another event's transaction() closure; resolves once it runs, with the call (wrapped: returning it would wait for it). */
async function openClosure(ledger: { hold(): Promise<void> }): Promise<{ holding: Promise<void> }> {
  const holding = ledger.hold();
  await expect.poll(() => events).toContain("closure open");
  return { holding };
}

describe("a fiber during another event's ctx.storage.transaction()", () => {
  it("a runFiber fiber that returns meanwhile is recorded as ended once the closure ends, and never recovered", async () => {
    const t = await env();
    const ledger = t.get<Ledger>("Ledger", "a");
    await ledger.begin();
    const { holding } = await openClosure(ledger);
    gates.get("fiber").open();
    await expect.poll(() => events).toContain("fiber returned");
    gates.get("txn").open();
    await holding;
    await expect.poll(() => ledger.rows()).toEqual([]);
    await t.restart();
    await t.clock.settle();
    expect(await t.get<Ledger>("Ledger", "a").rows()).toEqual([]);
    expect(recovered).toEqual([]);
    expect(reported).toEqual([]);
  });

  it("startFiber with waitForCompletion resolves once the fiber's end is written, and inspectFiber says completed", async () => {
    const t = await env();
    const ledger = t.get<Ledger>("Ledger", "b");
    let settled: string | undefined;
    const waiting = ledger.startAndWait().then((status) => (settled = status));
    await expect.poll(() => events).toContain("job started");
    const { holding } = await openClosure(ledger);
    gates.get("fiber").open();
    await expect.poll(() => events).toContain("fiber returned");
    gates.get("txn").open();
    await holding;
    await expect.poll(() => settled).toBe("completed");
    await waiting;
    expect(await ledger.status("j1")).toBe("completed");
    expect(reported).toEqual([]);
  });

  it("stash() meanwhile returns, and the checkpoint is committed as soon as the closure ends", async () => {
    const t = await env();
    const ledger = t.get<Ledger>("Ledger", "c");
    await ledger.stashing();
    await expect.poll(async () => (await ledger.rows()).map((row) => row.snapshot)).toEqual(['{"step":1}']);
    const { holding } = await openClosure(ledger);
    gates.get("stash").open();
    await expect.poll(() => events).toContain("stash returned");
    gates.get("txn").open();
    await holding;
    expect((await ledger.rows()).map((row) => row.snapshot)).toEqual(['{"step":2}']);
    // Durable: after a restart the recovery hands over that checkpoint.
    await t.restart();
    await t.clock.settle();
    expect(recovered).toEqual(["stashing"]);
    expect(events.filter((event) => event.startsWith("stash threw"))).toEqual([]);
    expect(reported).toEqual([]);
  });
});
