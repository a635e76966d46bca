/**
 * Execution contexts: a tracked context settles only after every waitUntil promise (also ones added
 * while waiting) and reports rejections in order; `waitUntil` from cloudflare:workers reaches the
 * context of the handler it runs in (also after an await) and, outside any handler, logs rejections.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { waitUntil } from "../../src/compat/cloudflare-workers.ts";
import type { ExecutionContext } from "../../src/gateway/serve.ts";
import { runWithContext, trackedContext } from "../../src/worker/execution-context.ts";

/** A promise and the functions that settle it. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Whether `promise` has settled after pending microtasks and one macrotask ran. */
async function isSettled(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return settled;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("trackedContext", () => {
  it("settles after every waitUntil promise, including ones added while waiting", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { ctx, settled } = trackedContext();
    const first = deferred();
    const late = deferred();
    ctx.waitUntil(first.promise);
    const done = settled();
    expect(await isSettled(done)).toBe(false);
    ctx.waitUntil(late.promise);
    first.resolve();
    expect(await isSettled(done)).toBe(false);
    late.reject(new Error("late failure"));
    expect(await done).toEqual([new Error("late failure")]);
  });

  it("lists rejections in the order they happened, and logs each", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const { ctx, settled } = trackedContext();
    const a = deferred();
    const b = deferred();
    ctx.waitUntil(a.promise);
    ctx.waitUntil(b.promise);
    ctx.waitUntil(Promise.resolve("fine"));
    b.reject(new Error("b first"));
    await new Promise((resolve) => setImmediate(resolve));
    a.reject(new Error("a second"));
    expect(await settled()).toEqual([new Error("b first"), new Error("a second")]);
    expect(errors.mock.calls.map((call) => [call[0], (call[1] as Error).message])).toEqual([
      ["[hearth] waitUntil:", "b first"],
      ["[hearth] waitUntil:", "a second"],
    ]);
  });

  it("settles at once with nothing to wait for, and passThroughOnException does nothing", async () => {
    const { ctx, settled } = trackedContext();
    ctx.passThroughOnException();
    expect(await settled()).toEqual([]);
  });
});

describe("waitUntil from cloudflare:workers", () => {
  it("extends the context of the handler it runs in, also after an await and in a timer", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const outer = trackedContext();
    const other = trackedContext();
    const inTimer = deferred();
    await runWithContext(outer.ctx, async () => {
      waitUntil(Promise.reject(new Error("sync part")));
      await new Promise((resolve) => setImmediate(resolve));
      waitUntil(Promise.reject(new Error("after an await")));
      setTimeout(() => {
        waitUntil(Promise.reject(new Error("in a timer")));
        inTimer.resolve();
      }, 1);
    });
    await runWithContext(other.ctx, () => waitUntil(Promise.reject(new Error("other handler"))));
    await inTimer.promise;
    expect((await outer.settled()).map((error) => (error as Error).message)).toEqual(["sync part", "after an await", "in a timer"]);
    expect((await other.settled()).map((error) => (error as Error).message)).toEqual(["other handler"]);
  });

  it("reaches a context that is not a tracked one (the request path's)", async () => {
    const received: Promise<unknown>[] = [];
    const ctx: ExecutionContext = { waitUntil: (promise) => received.push(promise), passThroughOnException: () => {} };
    const work = Promise.resolve("done");
    runWithContext(ctx, () => waitUntil(work));
    expect(received).toEqual([work]);
  });

  it("outside any handler, lets the promise run and logs a rejection", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const ran = deferred<string>();
    waitUntil(ran.promise);
    ran.resolve("ok");
    waitUntil(Promise.reject(new Error("nobody waits for me")));
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors.mock.calls.map((call) => [call[0], (call[1] as Error).message])).toEqual([["[hearth] waitUntil:", "nobody waits for me"]]);
  });

  it("returns what the handler returns", () => {
    const { ctx } = trackedContext();
    expect(runWithContext(ctx, () => 42)).toBe(42);
  });
});
