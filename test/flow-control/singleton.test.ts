import { describe, expect, it } from "vitest";
import { singleton, SingletonCancelledError, SingletonSkippedError } from "../../src/flow-control/index.ts";
import { deferred, flush, rejectionOf } from "./setup.ts";

/** Work that waits for its signal to abort (then fails) or for the test to finish it. */
function abortableWork() {
  const started: string[] = [];
  const finishers = new Map<string, () => void>();
  const work = (id: string, signal: AbortSignal) =>
    new Promise<string>((resolve, reject) => {
      started.push(id);
      finishers.set(id, () => resolve(`done ${id}`));
      signal.addEventListener("abort", () => reject(new Error(`aborted ${id}`)));
    });
  return { started, work, finish: (id: string) => finishers.get(id)!() };
}

describe("singleton", () => {
  it('"skip": a call for a key with an active run does not run, and rejects with a 409', async () => {
    const control = singleton<string>({ key: (id) => id[0]!, mode: "skip" });
    const { started, work, finish } = abortableWork();
    const first = control.run("a1", work);
    const error = await rejectionOf(control.run("a2", work));
    expect(error).toBeInstanceOf(SingletonSkippedError);
    expect(error).toMatchObject({ code: "singleton_skipped", status: 409, key: "a", retryAfterMs: undefined });
    expect((error as Error).message).toBe('singleton: a run for key "a" is already active; this call was skipped');
    const other = control.run("b1", work);
    finish("a1");
    expect(await first).toBe("done a1");
    const later = control.run("a3", work);
    await flush();
    expect(started).toEqual(["a1", "b1", "a3"]);
    finish("a3");
    finish("b1");
    expect([await later, await other]).toEqual(["done a3", "done b1"]);
  });

  it('"cancel": a new call aborts the active run and starts only once it has finished', async () => {
    const control = singleton<string>({ mode: "cancel", key: "chat" });
    let seenReason: unknown;
    const cleanup = deferred();
    const first = control.run("first", async (_id, signal) => {
      await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve()));
      seenReason = signal.reason;
      await cleanup.promise; // still tidying up: the next run must wait
      throw new Error("stopped");
    });
    const started: string[] = [];
    const second = control.run("second", (id) => {
      started.push(id);
      return id;
    });
    await flush();
    expect(seenReason).toBeInstanceOf(SingletonCancelledError);
    expect(started).toEqual([]);
    cleanup.resolve();
    const error = await rejectionOf(first);
    expect(error).toBeInstanceOf(SingletonCancelledError);
    expect(error).toMatchObject({ code: "singleton_cancelled", status: 409, key: "chat" });
    expect((error as Error).message).toBe('singleton: the run for key "chat" was cancelled by a newer call');
    expect(await second).toBe("second");
  });

  it('"cancel": a cancelled run that returns anyway gives its caller the value', async () => {
    const control = singleton<string>({ mode: "cancel" });
    const gate = deferred();
    const first = control.run("first", async () => {
      await gate.promise;
      return "finished regardless";
    });
    const second = control.run("second", (id) => id);
    gate.resolve();
    expect([await first, await second]).toEqual(["finished regardless", "second"]);
  });

  it('"cancel": of several calls waiting for the cancelled run, only the newest runs', async () => {
    const control = singleton<string>({ mode: "cancel" });
    const { started, work } = abortableWork();
    const calls = ["1", "2", "3"].map((id) => rejectionOf(control.run(id, work)));
    const last = control.run("4", (id) => `ran ${id}`);
    expect(await last).toBe("ran 4");
    expect(started).toEqual(["1"]);
    const [one, two, three] = await Promise.all(calls);
    expect(one).toBeInstanceOf(SingletonCancelledError); // cancelled while running
    expect(two).toBeInstanceOf(SingletonCancelledError); // replaced while waiting, never ran
    expect(three).toBeInstanceOf(SingletonCancelledError);
  });

  it("a waiting call that aborts leaves; the caller's abort also reaches running work", async () => {
    const control = singleton<string>({ mode: "cancel" });
    const { work } = abortableWork();
    const stop = new AbortController();
    const running = rejectionOf(control.run("1", work, { signal: stop.signal }));
    stop.abort(new Error("user left"));
    expect(await running).toEqual(new Error("user left"));

    const { started, work: work2 } = abortableWork();
    const first = rejectionOf(control.run("a", work2));
    const leave = new AbortController();
    const waiting = control.run("b", work2, { signal: leave.signal });
    leave.abort(new Error("not needed"));
    await expect(waiting).rejects.toThrow("not needed");
    expect(await first).toBeInstanceOf(SingletonCancelledError);
    await flush();
    expect(started).toEqual(["a"]);
    expect(await control.run("c", (id) => id)).toBe("c");
  });

  it("checks its options", () => {
    expect(() => singleton({ mode: "queue" as "skip" })).toThrow('singleton: mode must be "skip" or "cancel", got "queue"');
    expect(() => singleton({} as never)).toThrow('singleton: mode must be "skip" or "cancel", got undefined');
  });
});
