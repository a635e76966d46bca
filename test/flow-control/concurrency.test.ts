import { describe, expect, it } from "vitest";
import { concurrency, QueueFullError } from "../../src/flow-control/index.ts";
import { deferred, flush, rejectionOf, type Deferred } from "./setup.ts";

/** Work that records when it starts and finishes when the test resolves its deferred. */
function gatedWork() {
  const started: string[] = [];
  const gates = new Map<string, Deferred<string>>();
  const work = (id: string) => {
    started.push(id);
    const gate = deferred<string>();
    gates.set(id, gate);
    return gate.promise;
  };
  const finish = (id: string) => gates.get(id)!.resolve(`done ${id}`);
  return { started, work, finish };
}

describe("concurrency", () => {
  it("runs at most `limit` per key at once; the others start in FIFO order as runs finish", async () => {
    const control = concurrency<string>({ limit: 2, key: (id) => id.split(":")[0]! });
    const { started, work, finish } = gatedWork();
    const results = ["a:1", "a:2", "a:3", "a:4", "b:1"].map((id) => control.run(id, work));
    await flush();
    expect(started).toEqual(["a:1", "a:2", "b:1"]);
    finish("a:2");
    await flush();
    expect(started).toEqual(["a:1", "a:2", "b:1", "a:3"]);
    finish("a:1");
    await flush();
    expect(started).toEqual(["a:1", "a:2", "b:1", "a:3", "a:4"]);
    for (const id of ["a:3", "a:4", "b:1"]) finish(id);
    expect(await Promise.all(results)).toEqual(["done a:1", "done a:2", "done a:3", "done a:4", "done b:1"]);
  });

  it("frees the slot when the work fails, and the failure reaches its caller", async () => {
    const control = concurrency<string>({ limit: 1 });
    const failing = control.run("x", () => Promise.reject(new Error("boom")));
    const next = control.run("y", (id) => `ran ${id}`);
    await expect(failing).rejects.toThrow("boom");
    expect(await next).toBe("ran y");
  });

  it("refuses a call once `maxQueue` callers wait, with a 429 QueueFullError", async () => {
    const control = concurrency<string>({ limit: 1, maxQueue: 2, key: "all" });
    const { work, finish } = gatedWork();
    const running = [control.run("1", work), control.run("2", work), control.run("3", work)];
    const error = await rejectionOf(control.run("4", work));
    expect(error).toBeInstanceOf(QueueFullError);
    expect(error).toMatchObject({ code: "queue_full", status: 429, key: "all", retryAfterMs: undefined });
    expect((error as Error).message).toBe('concurrency: the queue of key "all" is full (maxQueue 2)');
    finish("1");
    await flush();
    finish("2");
    await flush();
    finish("3");
    expect(await Promise.all(running)).toEqual(["done 1", "done 2", "done 3"]);
  });

  it("never queues with maxQueue 0", async () => {
    const control = concurrency<string>({ limit: 1, maxQueue: 0 });
    const { work, finish } = gatedWork();
    const first = control.run("1", work);
    await expect(control.run("2", work)).rejects.toThrow('concurrency: the queue of key "" is full (maxQueue 0)');
    finish("1");
    expect(await first).toBe("done 1");
  });

  it("removes a waiter that aborts: it rejects with the abort reason and the next one takes its turn", async () => {
    const control = concurrency<string>({ limit: 1, maxQueue: 1 });
    const { started, work, finish } = gatedWork();
    const first = control.run("1", work);
    const giveUp = new AbortController();
    const second = control.run("2", work, { signal: giveUp.signal });
    giveUp.abort(new Error("client went away"));
    await expect(second).rejects.toThrow("client went away");
    // Its place in the queue is free again (maxQueue 1).
    const third = control.run("3", work);
    finish("1");
    await flush();
    expect(started).toEqual(["1", "3"]);
    finish("3");
    expect([await first, await third]).toEqual(["done 1", "done 3"]);
  });

  it("rejects at once a call whose signal is already aborted, and passes the signal to running work", async () => {
    const control = concurrency<string>({ limit: 1 });
    await expect(control.run("x", () => "ran", { signal: AbortSignal.abort(new Error("too late")) })).rejects.toThrow("too late");
    const stop = new AbortController();
    const running = control.run("x", (_id, signal) => new Promise((_resolve, reject) => signal.addEventListener("abort", () => reject(new Error("work saw abort")))), {
      signal: stop.signal,
    });
    stop.abort(new Error("stopped by caller"));
    // A failure after the abort is reported as the abort's reason.
    await expect(running).rejects.toThrow("stopped by caller");
    expect(await control.run("y", () => "slot free")).toBe("slot free");
  });

  it("checks its options and keys with errors that name the limit", async () => {
    expect(() => concurrency({ limit: 0 })).toThrow("concurrency: limit must be an integer from 1 to 100000, got 0");
    expect(() => concurrency({ limit: 1.5 })).toThrow("concurrency: limit must be an integer from 1 to 100000, got 1.5");
    expect(() => concurrency({ limit: 1, maxQueue: 100_001 })).toThrow("concurrency: maxQueue must be an integer from 0 to 100000, got 100001");
    expect(() => concurrency(null as never)).toThrow("concurrency: options must be an object");
    expect(() => concurrency({ limit: 1, concurrency: 2 } as never)).toThrow("concurrency: unknown option concurrency (known: limit, key, maxQueue)");
    expect(() => concurrency({ limit: 1, key: 42 } as never)).toThrow("concurrency: key must be a string or a function of the input, got number");
    const control = concurrency<unknown>({ limit: 1, key: (input) => input as string });
    await expect(control.run(7, () => "x")).rejects.toThrow("concurrency: the key must be a string, got number");
    await expect(control.run("k".repeat(1025), () => "x")).rejects.toThrow("concurrency: the key is 1025 characters, over the maximum of 1024");
  });
});
