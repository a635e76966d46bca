import { describe, expect, it } from "vitest";
import { debounce, QueueFullError } from "../../src/flow-control/index.ts";
import { deferred, flush, rejectionOf, START, virtualClock } from "./setup.ts";

describe("debounce", () => {
  it("makes one run with the last input once the key is quiet; every caller gets its result", async () => {
    const clock = virtualClock();
    const control = debounce<{ user: string; text: string }>({ periodMs: 500, key: (m) => m.user, clock });
    const runs: Array<[string, number]> = [];
    const work = (m: { text: string }) => {
      runs.push([m.text, clock.now() - START]);
      return `suggestion for ${m.text}`;
    };
    const calls = [control.run({ user: "a", text: "h" }, work)];
    await clock.advance(300);
    calls.push(control.run({ user: "a", text: "he" }, work));
    await clock.advance(300);
    calls.push(control.run({ user: "a", text: "hel" }, work), control.run({ user: "b", text: "x" }, work));
    await clock.advance(499);
    expect(runs).toEqual([]);
    await clock.advance(1);
    expect(runs).toEqual([["hel", 1100], ["x", 1100]]);
    expect(await Promise.all(calls)).toEqual(["suggestion for hel", "suggestion for hel", "suggestion for hel", "suggestion for x"]);
  });

  it("runs at most maxWaitMs after the batch's first call, however often calls keep coming", async () => {
    const clock = virtualClock();
    const control = debounce<number>({ periodMs: 100, maxWaitMs: 250, clock });
    const runs: Array<[number, number]> = [];
    const work = (n: number) => runs.push([n, clock.now() - START]);
    const calls: Promise<unknown>[] = [];
    for (let n = 0; n < 6; n++) {
      calls.push(control.run(n, work));
      await clock.advance(60);
    }
    await clock.advance(200);
    await Promise.all(calls);
    // Calls at 0, 60, 120, 180, 240 form one batch (run at 250); the call at 300 the next (run at 400).
    expect(runs).toEqual([[4, 250], [5, 400]]);
  });

  it("waits at most periodMs × 10 by default", async () => {
    const clock = virtualClock();
    const control = debounce<number>({ periodMs: 100, clock });
    const runs: number[] = [];
    const calls: Promise<unknown>[] = [];
    // Calls every 90 ms from 0 to 990 make one batch, run at 1000; the call at 1080 the next one.
    for (let n = 0; n < 13; n++) {
      calls.push(control.run(n, () => runs.push(clock.now() - START)));
      await clock.advance(90);
    }
    await clock.advance(100);
    await Promise.all(calls);
    expect(runs).toEqual([1000, 1180]);
  });

  it("gives every caller of the batch the run's error", async () => {
    const clock = virtualClock();
    const control = debounce<number>({ periodMs: 100, clock });
    const calls = [1, 2].map((n) => rejectionOf(control.run(n, (n) => Promise.reject(new Error(`failed on ${n}`)))));
    await clock.advance(100);
    for (const call of calls) expect(await call).toEqual(new Error("failed on 2"));
  });

  it("drops a caller that aborts while waiting: the run takes the last input still wanted", async () => {
    const clock = virtualClock();
    const control = debounce<string>({ periodMs: 100, clock });
    const ran: string[] = [];
    const work = (s: string) => {
      ran.push(s);
      return s;
    };
    const first = control.run("first", work);
    const giveUp = new AbortController();
    const second = control.run("second", work, { signal: giveUp.signal });
    giveUp.abort(new Error("typed on"));
    await expect(second).rejects.toThrow("typed on");
    await clock.advance(100);
    expect(await first).toBe("first");
    expect(ran).toEqual(["first"]);
  });

  it("does not run at all when every caller aborted before the run", async () => {
    const clock = virtualClock();
    const control = debounce<string>({ periodMs: 100, clock });
    const giveUp = new AbortController();
    let runs = 0;
    const calls = ["a", "b"].map((s) => control.run(s, () => ++runs, { signal: giveUp.signal }));
    giveUp.abort(new Error("closed"));
    for (const call of calls) await expect(call).rejects.toThrow("closed");
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(1000);
    expect(runs).toBe(0);
  });

  it("aborts the running work only when every caller of its batch gave up", async () => {
    const clock = virtualClock();
    const control = debounce<string>({ periodMs: 100, clock });
    const [one, two] = [new AbortController(), new AbortController()];
    let seen: AbortSignal | undefined;
    const gate = deferred<string>();
    const work = (_s: string, signal: AbortSignal) => {
      seen = signal;
      return gate.promise;
    };
    const calls = [control.run("x", work, { signal: one.signal }), control.run("y", work, { signal: two.signal })];
    await clock.advance(100);
    one.abort(new Error("one left"));
    await expect(calls[0]).rejects.toThrow("one left");
    expect(seen?.aborted).toBe(false);
    two.abort(new Error("two left"));
    await expect(calls[1]).rejects.toThrow("two left");
    expect(seen?.aborted).toBe(true);
    gate.resolve("late");
  });

  it("starts a new batch for a call made while the run is on", async () => {
    const clock = virtualClock();
    const control = debounce<string>({ periodMs: 100, clock });
    const gate = deferred();
    const ran: string[] = [];
    const first = control.run("a", async (s) => {
      ran.push(s);
      await gate.promise;
      return s;
    });
    await clock.advance(100);
    const second = control.run("b", (s) => {
      ran.push(s);
      return s;
    });
    await clock.advance(100);
    expect(ran).toEqual(["a", "b"]);
    gate.resolve();
    expect([await first, await second]).toEqual(["a", "b"]);
  });

  it("refuses a call once a batch holds `maxQueue` callers", async () => {
    const clock = virtualClock();
    const control = debounce<number>({ periodMs: 100, maxQueue: 2, key: "typing", clock });
    const calls = [control.run(1, (n) => n), control.run(2, (n) => n)];
    const error = await rejectionOf(control.run(3, (n) => n));
    expect(error).toBeInstanceOf(QueueFullError);
    expect((error as Error).message).toBe('debounce: the queue of key "typing" is full (maxQueue 2)');
    await clock.advance(100);
    expect(await Promise.all(calls)).toEqual([2, 2]);
    await flush();
  });

  it("checks its options with errors that name the limit", () => {
    expect(() => debounce({ periodMs: 0 })).toThrow("debounce: periodMs must be an integer from 1 to 604800000, got 0");
    expect(() => debounce({ periodMs: 1000, maxWaitMs: 999 })).toThrow("debounce: maxWaitMs must be an integer from 1000 to 604800000, got 999");
  });
});
