/**
 * Recovery of runFiber fibers in one process, on virtual time: a restart mid-fiber hands the fiber
 * to onFiberRecovered with its last checkpoint, and the host wakes the agent for it by itself (no
 * request, no socket). While a fiber runs the agent's entry in the host's due index stays close; a
 * hook that throws is retried at later starts, then given up; destroy leaves no wake behind.
 */
import { describe, expect, it } from "vitest";
import { Agent, type FiberRecoveryContext } from "../../src/index.ts";
import { envPerTest, Gates, type StoredFiber } from "./helpers.ts";

const gates = new Gates();
/** What onFiberRecovered saw, in order, across restarts (this module outlives every host). */
const recovered: Array<FiberRecoveryContext & { agent: string }> = [];
const reported: string[] = [];
/** Hook behaviour per fiber name: "resume" starts a new fiber that finishes. */
const plans = new Map<string, "resume" | "nothing">();

class Worker extends Agent {
  static options = { keepAliveIntervalMs: 60_000 };

  onError(error: unknown) {
    reported.push(error instanceof Error ? error.message : String(error));
  }

  async onStart() {
    this.sql`CREATE TABLE IF NOT EXISTS done (what TEXT)`;
  }

  begin(name: string, checkpoint?: unknown) {
    void this.runFiber(name, async (ctx) => {
      if (checkpoint !== undefined) ctx.stash(checkpoint);
      await gates.get(name).promise;
      this.sql`INSERT INTO done VALUES (${name})`;
    });
  }

  async onFiberRecovered(ctx: FiberRecoveryContext) {
    recovered.push({ ...ctx, agent: this.name });
    if (plans.get(ctx.name) === "resume") {
      const from = ctx.snapshot as { step: number };
      void this.runFiber(ctx.name, async (fiber) => {
        fiber.stash({ step: from.step + 1 });
        this.sql`INSERT INTO done VALUES (${`${ctx.name} resumed at ${from.step}`})`;
      });
    }
  }

  async selfDestruct() {
    await this.destroy();
  }

  done() {
    return this.sql<{ what: string }>`SELECT what FROM done`.map((row) => row.what);
  }

  rows(): StoredFiber[] {
    return this.sql<StoredFiber>`SELECT id, name, status, snapshot FROM _hearth_fibers ORDER BY created_at`;
  }
}

/** Starts a fiber in onStart: it runs in the new instance, so recovery must leave it alone. */
class Starter extends Agent {
  async onStart() {
    void this.runFiber("from-start", () => gates.get("from-start").promise);
  }
  async onFiberRecovered(ctx: FiberRecoveryContext) {
    recovered.push({ ...ctx, agent: this.name });
  }
  ping() {
    return "pong";
  }
}

const env = envPerTest({ agents: { Worker, Starter } }, () => {
  gates.clear();
  recovered.length = 0;
  reported.length = 0;
  plans.clear();
});

describe("fiber recovery", () => {
  it("after a restart mid-fiber, the host wakes the agent by itself and onFiberRecovered gets the last checkpoint", async () => {
    const t = await env();
    const startedAt = t.clock.now().getTime();
    await t.get<Worker>("Worker", "a").begin("research", { step: 2, found: ["x"] });
    await t.restart();
    expect(t.host.stats.liveAgents).toBe(0); // nobody has called it
    await t.clock.settle(); // its index entry is due: the host wakes it
    expect(t.host.stats.liveAgents).toBe(1);
    expect(recovered).toEqual([
      {
        agent: "a",
        id: expect.any(String) as string,
        name: "research",
        snapshot: { step: 2, found: ["x"] },
        createdAt: startedAt,
        recoveryReason: "interrupted",
      },
    ]);
    // Recovered: the row is gone, and another restart recovers nothing again.
    expect(await t.get<Worker>("Worker", "a").rows()).toEqual([]);
    await t.restart();
    await t.clock.settle();
    await t.get<Worker>("Worker", "a").done();
    expect(recovered).toHaveLength(1);
  });

  it("a hook can resume the work as a new fiber, which runs to the end", async () => {
    const t = await env();
    await t.get<Worker>("Worker", "a").begin("job", { step: 1 });
    await t.get<Worker>("Worker", "b").begin("job"); // b never stashed: snapshot null
    await t.restart();
    await t.clock.settle();
    expect(recovered.map((r) => [r.agent, r.snapshot])).toEqual(
      expect.arrayContaining([
        ["a", { step: 1 }],
        ["b", null],
      ]),
    );
    plans.set("job", "resume");
    gates.clear();
    await t.get<Worker>("Worker", "c").begin("job", { step: 7 });
    await t.restart();
    await t.clock.settle();
    const c = t.get<Worker>("Worker", "c");
    await expect.poll(() => c.done()).toEqual(["job resumed at 7"]);
    expect(await c.rows()).toEqual([]);
  });

  it("each interrupted fiber of an agent is recovered once; finished ones are not", async () => {
    const t = await env();
    const w = t.get<Worker>("Worker", "a");
    await w.begin("one", { n: 1 });
    await w.begin("two", { n: 2 });
    await w.begin("finished");
    gates.get("finished").open();
    await expect.poll(() => w.done()).toEqual(["finished"]);
    await t.restart();
    await t.clock.settle();
    expect(recovered.map((r) => r.name).sort()).toEqual(["one", "two"]);
  });

  it("keeps the agent's wake-up in the host's due index close while a fiber runs", async () => {
    const t = await env();
    const start = t.clock.now().getTime();
    expect(t.host.nextWake("Worker", "a")).toBeNull();
    await t.get<Worker>("Worker", "a").begin("long");
    expect(t.host.nextWake("Worker", "a")).toEqual(new Date(start + 60_000));
    // Each wake moves it on by keepAliveIntervalMs while the fiber runs…
    await t.clock.advance("3 minutes");
    expect(t.host.nextWake("Worker", "a")!.getTime()).toBe(start + 240_000);
    expect(t.host.stats.liveAgents).toBe(1);
    // …and once it ended, the next wake is the last.
    gates.get("long").open();
    await expect.poll(() => t.get<Worker>("Worker", "a").done()).toEqual(["long"]);
    await t.clock.advance("2 minutes");
    expect(t.host.nextWake("Worker", "a")).toBeNull();
    expect(recovered).toEqual([]);
  });

  it("a fiber started by onStart is running, not interrupted", async () => {
    const t = await env();
    await t.get<Starter>("Starter", "s").ping();
    await t.restart();
    await t.clock.settle(); // the onStart fiber of the first life was interrupted: recovered once
    expect(recovered.map((r) => r.name)).toEqual(["from-start"]);
    // The fiber the new onStart began is running in this instance and is left alone.
    expect(t.host.stats.liveAgents).toBe(1);
    await t.get<Starter>("Starter", "s").ping();
    expect(recovered).toHaveLength(1);
  });

  it("a destroyed agent's fibers leave no wake-up behind", async () => {
    const t = await env();
    const w = t.get<Worker>("Worker", "gone");
    await w.begin("doomed", { step: 1 });
    expect(t.host.nextWake("Worker", "gone")).not.toBeNull();
    await w.selfDestruct();
    expect(t.host.nextWake("Worker", "gone")).toBeNull();
    expect(t.host.exists("Worker", "gone")).toBe(false);
    await t.restart();
    await t.clock.advance("5 minutes");
    expect(t.host.exists("Worker", "gone")).toBe(false);
    expect(recovered).toEqual([]);
  });
});
