/**
 * startFiber: durable acceptance with idempotency, the kept record (inspect, list), cooperative
 * cancellation, deletion of settled records, and recovery of an interrupted one through the hook's
 * result or resolveFiber.
 */
import { describe, expect, it } from "vitest";
import {
  Agent,
  type DeleteFibersOptions,
  type FiberRecoveryContext,
  type FiberRecoveryResult,
  type ListFibersOptions,
  type StartFiberOptions,
} from "../../src/index.ts";
import { envPerTest, Gates } from "./helpers.ts";

const gates = new Gates();
const recovered: FiberRecoveryContext[] = [];
const reported: string[] = [];
const results = new Map<string, FiberRecoveryResult | undefined>();
/** Signals seen by fiber functions, to check cancellation reaches them. */
const signals = new Map<string, AbortSignal>();

class Hooks extends Agent {
  onError(error: unknown) {
    reported.push(error instanceof Error ? error.message : String(error));
  }

  /** The fiber stashes, waits for its gate, then finishes (or fails if the gate fails). */
  accept(name: string, options?: StartFiberOptions) {
    return this.startFiber(
      name,
      async (ctx) => {
        signals.set(name, ctx.signal);
        ctx.stash({ accepted: name });
        await gates.get(name).promise;
      },
      options,
    );
  }

  inspect(id: string) {
    return this.inspectFiber(id);
  }
  inspectKey(key: string) {
    return this.inspectFiberByKey(key);
  }
  list(options?: ListFibersOptions) {
    return this.listFibers(options);
  }
  cancel(id: string, reason?: string) {
    return this.cancelFiber(id, reason);
  }
  cancelKey(key: string, reason?: string) {
    return this.cancelFiberByKey(key, reason);
  }
  remove(options?: DeleteFibersOptions) {
    return this.deleteFibers(options);
  }
  resolve(id: string, result: FiberRecoveryResult) {
    return this.resolveFiber(id, result);
  }
  bad(what: string) {
    const run = () => Promise.resolve();
    if (what === "metadata") return this.startFiber("x", run, { metadata: [] as unknown as Record<string, unknown> });
    if (what === "key") return this.startFiber("x", run, { idempotencyKey: "   " });
    if (what === "status") return this.listFibers({ status: "done" as "completed" });
    if (what === "limit") return this.listFibers({ limit: 0 });
    if (what === "result") return this.resolveFiber("x", { status: "finished" } as unknown as FiberRecoveryResult);
    return this.deleteFibers({ settledBefore: new Date(Number.NaN) });
  }

  async onFiberRecovered(ctx: FiberRecoveryContext) {
    recovered.push(ctx);
    return results.get(ctx.name);
  }
}

const env = envPerTest({ agents: { Hooks } }, () => {
  gates.clear();
  recovered.length = 0;
  reported.length = 0;
  results.clear();
  signals.clear();
});

describe("startFiber", () => {
  it("accepts durably and returns at once; the same idempotency key joins the first", async () => {
    const t = await env();
    const h = t.get<Hooks>("Hooks", "a");
    const first = await h.accept("webhook", { idempotencyKey: "delivery-1", metadata: { thread: "t1" } });
    expect(first).toMatchObject({ accepted: true, name: "webhook", status: "running", idempotencyKey: "delivery-1", metadata: { thread: "t1" } });
    const again = await h.accept("webhook", { idempotencyKey: "delivery-1" });
    expect(again).toMatchObject({ accepted: false, fiberId: first.fiberId, status: "running" });
    expect(await h.inspectKey("delivery-1")).toMatchObject({ fiberId: first.fiberId, snapshot: { accepted: "webhook" } });
    gates.get("webhook").open();
    await expect.poll(() => h.inspect(first.fiberId)).toMatchObject({ status: "completed", settledAt: expect.any(Number) as number });
    // Settled, the record stays: a late duplicate still joins it.
    expect(await h.accept("webhook", { idempotencyKey: "delivery-1" })).toMatchObject({ accepted: false, status: "completed" });
  });

  it("waitForCompletion resolves once the fiber settled, for the first caller and for a joining one", async () => {
    const t = await env();
    const h = t.get<Hooks>("Hooks", "a");
    const first = h.accept("slow", { fiberId: "job-1", waitForCompletion: true });
    const joining = h.accept("slow", { fiberId: "job-1", waitForCompletion: true });
    await expect.poll(() => h.inspect("job-1")).toMatchObject({ status: "running" });
    gates.get("slow").open();
    expect(await first).toMatchObject({ accepted: true, fiberId: "job-1", status: "completed" });
    expect(await joining).toMatchObject({ accepted: false, fiberId: "job-1", status: "completed" });
  });

  it("records a failure as error", async () => {
    const t = await env();
    const h = t.get<Hooks>("Hooks", "a");
    const { fiberId } = await h.accept("doomed");
    gates.get("doomed").fail(new Error("upstream said no"));
    await expect.poll(() => h.inspect(fiberId)).toMatchObject({ status: "error", error: "upstream said no" });
    expect(reported).toContainEqual(expect.stringContaining("upstream said no"));
  });

  it("cancels cooperatively: recorded as aborted at once, the signal aborts, the function ends when it looks", async () => {
    const t = await env();
    const h = t.get<Hooks>("Hooks", "a");
    const { fiberId } = await h.accept("cancel-me", { idempotencyKey: "k1" });
    expect(await h.cancel(fiberId, "superseded")).toBe(true);
    expect(signals.get("cancel-me")!.aborted).toBe(true);
    expect(await h.inspect(fiberId)).toMatchObject({ status: "aborted", error: "superseded" });
    expect(t.hibernate()).toBe(0); // the function has not returned yet: still held in memory
    expect(await h.cancel(fiberId)).toBe(false); // settled already
    gates.get("cancel-me").open(); // it finished anyway: the record stays aborted
    await expect.poll(() => t.hibernate()).toBe(1);
    expect(await h.inspect(fiberId)).toMatchObject({ status: "aborted" });
    expect(await h.cancelKey("k1")).toBe(false);
    expect(await h.cancel("no-such-fiber")).toBe(false);
  });

  it("lists newest first with filters, and deletes settled records (interrupted ones only when asked)", async () => {
    const t = await env();
    const h = t.get<Hooks>("Hooks", "a");
    const ids: string[] = [];
    for (const name of ["a1", "a2", "b1"]) {
      ids.push((await h.accept(name.startsWith("a") ? "alpha" : "beta", { fiberId: name })).fiberId);
      await t.clock.advance(1000);
    }
    gates.get("alpha").open();
    await expect.poll(async () => (await h.list({ status: "completed" })).map((f) => f.fiberId)).toEqual(["a2", "a1"]);
    expect((await h.list()).map((f) => f.fiberId)).toEqual(["b1", "a2", "a1"]);
    expect((await h.list({ name: "beta" })).map((f) => f.fiberId)).toEqual(["b1"]);
    expect((await h.list({ limit: 1 })).map((f) => f.fiberId)).toEqual(["b1"]);
    expect((await h.list({ limit: 1_000 })).length).toBe(3); // above 100 means 100
    expect(await h.remove({ settledBefore: new Date(0) })).toBe(0);
    expect(await h.remove()).toBe(2); // the two completed ones; the running one stays
    expect((await h.list()).map((f) => f.fiberId)).toEqual(["b1"]);
  });

  it("an interrupted fiber reaches onFiberRecovered with its record; the hook's result settles it", async () => {
    const t = await env();
    results.set("reply", { status: "completed", snapshot: { recovered: true } });
    const { fiberId } = await t.get<Hooks>("Hooks", "a").accept("reply", { idempotencyKey: "delivery-9", metadata: { thread: "t9" } });
    await t.restart();
    await t.clock.settle(); // the host wakes it by itself
    expect(recovered).toEqual([
      {
        id: fiberId,
        name: "reply",
        status: "interrupted",
        idempotencyKey: "delivery-9",
        metadata: { thread: "t9" },
        snapshot: { accepted: "reply" },
        createdAt: expect.any(Number) as number,
        recoveryReason: "interrupted",
      },
    ]);
    expect(await t.get<Hooks>("Hooks", "a").inspect(fiberId)).toMatchObject({ status: "completed", snapshot: { recovered: true } });
  });

  it("a hook returning nothing leaves it interrupted, for resolveFiber; deleteFibers keeps it unless asked", async () => {
    const t = await env();
    const { fiberId } = await t.get<Hooks>("Hooks", "a").accept("later");
    await t.restart();
    await t.clock.settle();
    const h = t.get<Hooks>("Hooks", "a");
    expect(await h.inspect(fiberId)).toMatchObject({ status: "interrupted", snapshot: { accepted: "later" } });
    expect(await h.remove()).toBe(0);
    expect(await h.resolve(fiberId, { status: "error", error: new Error("gave up by hand") })).toBe(true);
    expect(await h.inspect(fiberId)).toMatchObject({ status: "error", error: "gave up by hand" });
    expect(await h.resolve(fiberId, { status: "completed" })).toBe(false); // only interrupted ones
    expect(await h.remove({ status: ["error", "interrupted"] })).toBe(1);
    expect(await h.inspect(fiberId)).toBeNull();
    // A restart does not recover it again.
    await t.restart();
    await t.clock.settle();
    expect(recovered).toHaveLength(1);
  });

  it("refuses bad input with clear errors", async () => {
    const h = (await env()).get<Hooks>("Hooks", "a");
    await expect(h.bad("metadata")).rejects.toThrow(/metadata must be a plain object/);
    await expect(h.bad("key")).rejects.toThrow(/idempotencyKey must be a non-blank string of at most 256 characters \(maxFiberIdLength\)/);
    await expect(h.bad("status")).rejects.toThrow(/unknown fiber status "done"/);
    await expect(h.bad("limit")).rejects.toThrow(/limit must be an integer >= 1/);
    await expect(h.bad("result")).rejects.toThrow(/a recovery result is \{ status: "completed" \| "error" \| "aborted" \| "interrupted"/);
    await expect(h.bad("date")).rejects.toThrow(/settledBefore must be a valid Date/);
    expect(await h.list()).toEqual([]);
  });
});
