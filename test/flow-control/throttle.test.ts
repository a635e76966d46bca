import { AsyncLocalStorage } from "node:async_hooks";
import { describe, expect, it } from "vitest";
import { QueueFullError, throttle, ThrottledError } from "../../src/flow-control/index.ts";
import { rejectionOf, START, virtualClock } from "./setup.ts";

/** Work that records the virtual time (ms since START) it started at. */
function startLog(clock: { now(): number }) {
  const starts: Array<[string, number]> = [];
  const work = (id: string) => {
    starts.push([id, clock.now() - START]);
    return id;
  };
  return { starts, work };
}

describe("throttle", () => {
  it("starts `limit` per key at once, queues the excess and starts it as the window moves", async () => {
    const clock = virtualClock();
    const control = throttle<string>({ limit: 2, periodMs: 1000, key: (id) => id[0]!, clock });
    const { starts, work } = startLog(clock);
    const results = ["a1", "a2", "a3", "a4", "a5", "b1"].map((id) => control.run(id, work));
    await clock.settle();
    expect(starts).toEqual([["a1", 0], ["a2", 0], ["b1", 0]]);
    await clock.advance(999);
    expect(starts).toHaveLength(3);
    await clock.advance(1);
    expect(starts.slice(3)).toEqual([["a3", 1000], ["a4", 1000]]);
    await clock.advance(1000);
    expect(starts.slice(5)).toEqual([["a5", 2000]]);
    expect(await Promise.all(results)).toEqual(["a1", "a2", "a3", "a4", "a5", "b1"]);
  });

  it("uses a sliding window: a slot frees one period after the start that took it", async () => {
    const clock = virtualClock();
    const control = throttle<string>({ limit: 2, periodMs: 1000, clock });
    const { starts, work } = startLog(clock);
    await control.run("1", work);
    await clock.advance(400);
    await control.run("2", work);
    const queued = [control.run("3", work), control.run("4", work)];
    await clock.advance(2000);
    await Promise.all(queued);
    expect(starts).toEqual([["1", 0], ["2", 400], ["3", 1000], ["4", 1400]]);
  });

  it("lets `burst` more start at once on top of `limit`", async () => {
    const clock = virtualClock();
    const control = throttle<string>({ limit: 2, periodMs: 6000, burst: 1, clock });
    const { starts, work } = startLog(clock);
    const all = ["1", "2", "3", "4"].map((id) => control.run(id, work));
    await clock.advance(6000);
    await Promise.all(all);
    expect(starts).toEqual([["1", 0], ["2", 0], ["3", 0], ["4", 6000]]);
  });

  it("refuses at once a call that would wait longer than maxWaitMs, saying when to retry", async () => {
    const clock = virtualClock();
    const control = throttle<string>({ limit: 1, periodMs: 10_000, maxWaitMs: 15_000, key: "api", clock });
    const { work } = startLog(clock);
    const admitted = [control.run("1", work), control.run("2", work)]; // the second waits 10 s
    const error = await rejectionOf(control.run("3", work)); // would wait 20 s
    expect(error).toBeInstanceOf(ThrottledError);
    expect(error).toMatchObject({ code: "throttled", status: 429, key: "api", retryAfterMs: 5000 });
    expect((error as Error).message).toBe('throttle: key "api" would wait 20000 ms to start, over maxWaitMs 15000; retry after 5 s');
    await clock.advance(10_000);
    expect(await Promise.all(admitted)).toEqual(["1", "2"]);
  });

  it("waits up to one minute by default (or one period, if longer)", async () => {
    const clock = virtualClock();
    const perMinute = throttle<string>({ limit: 1, periodMs: 30_000, clock });
    const queued = [perMinute.run("1", (id) => id), perMinute.run("2", (id) => id), perMinute.run("3", (id) => id)];
    await expect(perMinute.run("4", (id) => id)).rejects.toThrow("would wait 90000 ms to start, over maxWaitMs 60000");
    const perHour = throttle<string>({ limit: 1, periodMs: 3_600_000, clock });
    const hourly = [perHour.run("1", (id) => id), perHour.run("2", (id) => id)];
    await expect(perHour.run("3", (id) => id)).rejects.toThrow("over maxWaitMs 3600000");
    await clock.advance("1 hour");
    expect(await Promise.all([...queued, ...hourly])).toEqual(["1", "2", "3", "1", "2"]);
  });

  it("refuses a call once `maxQueue` callers wait", async () => {
    const clock = virtualClock();
    const control = throttle<string>({ limit: 1, periodMs: 1000, maxQueue: 1, key: "k", clock });
    const admitted = [control.run("1", (id) => id), control.run("2", (id) => id)];
    const error = await rejectionOf(control.run("3", (id) => id));
    expect(error).toBeInstanceOf(QueueFullError);
    expect((error as Error).message).toBe('throttle: the queue of key "k" is full (maxQueue 1)');
    expect(error).toMatchObject({ status: 429, retryAfterMs: 2000 });
    await clock.advance(1000);
    expect(await Promise.all(admitted)).toEqual(["1", "2"]);
  });

  it("removes a waiter that aborts; the next one starts in its place", async () => {
    const clock = virtualClock();
    const control = throttle<string>({ limit: 1, periodMs: 1000, clock });
    const { starts, work } = startLog(clock);
    const first = control.run("1", work);
    const giveUp = new AbortController();
    const second = control.run("2", work, { signal: giveUp.signal });
    const third = control.run("3", work);
    giveUp.abort(new Error("gave up"));
    await expect(second).rejects.toThrow("gave up");
    await clock.advance(1000);
    expect([await first, await third]).toEqual(["1", "3"]);
    expect(starts).toEqual([["1", 0], ["3", 1000]]);
  });

  it("lets go of an idle key's state once its window is over (no timer left)", async () => {
    const clock = virtualClock();
    const control = throttle<string>({ limit: 1, periodMs: 1000, key: (id) => id, clock });
    await Promise.all(["a", "b", "c"].map((id) => control.run(id, (id) => id)));
    expect(clock.pendingTimers).toBe(3);
    await clock.advance(1000);
    expect(clock.pendingTimers).toBe(0);
  });

  it("starts queued work in its caller's async context (getCurrentAgent() still sees the agent)", async () => {
    const clock = virtualClock();
    const control = throttle<string>({ limit: 1, periodMs: 1000, clock });
    const request = new AsyncLocalStorage<string>();
    const seen: Array<string | undefined> = [];
    const calls = ["first", "second"].map((id) => request.run(id, () => control.run(id, () => seen.push(request.getStore()))));
    await clock.advance(1000);
    await Promise.all(calls);
    expect(seen).toEqual(["first", "second"]);
  });

  it("checks its options with errors that name the limit", () => {
    expect(() => throttle({ limit: 1, periodMs: 0 })).toThrow("throttle: periodMs must be an integer from 1 to 604800000, got 0");
    expect(() => throttle({ limit: 1, periodMs: 8 * 86_400_000 })).toThrow("throttle: periodMs must be an integer from 1 to 604800000");
    expect(() => throttle({ limit: 100_000, periodMs: 1000, burst: 1 })).toThrow("throttle: burst must be an integer from 0 to 0, got 1");
    expect(() => throttle({ limit: 1, periodMs: 1000, maxWaitMs: -1 })).toThrow("throttle: maxWaitMs must be an integer from 0 to 604800000, got -1");
  });
});
