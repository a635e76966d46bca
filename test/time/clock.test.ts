import { afterEach, describe, expect, it, vi } from "vitest";
import { systemClock, VirtualClock } from "../../src/time/clock.ts";

const START = Date.parse("2030-01-01T00:00:00Z");
const SECOND = 1000;

const clocks: VirtualClock[] = [];
function virtual(options: ConstructorParameters<typeof VirtualClock>[0] = {}): VirtualClock {
  const clock = new VirtualClock({ start: START, ...options });
  clocks.push(clock);
  return clock;
}

/** Real event-loop turns, for async work that a callback waits on. */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

afterEach(() => {
  for (const clock of clocks.splice(0)) clock.dispose();
  vi.restoreAllMocks();
});

describe("VirtualClock", () => {
  it("starts at the given time, or at the real time", () => {
    expect(virtual().now()).toBe(START);
    expect(virtual({ start: new Date(START + 5) }).now()).toBe(START + 5);
    const before = Date.now();
    const real = new VirtualClock();
    expect(real.now()).toBeGreaterThanOrEqual(before);
    expect(real.now()).toBeLessThanOrEqual(Date.now());
    real.dispose();
  });

  it("fires timers in time order, ties in arming order, each at its own time", async () => {
    const clock = virtual();
    const fired: Array<[string, number]> = [];
    const record = (name: string) => () => void fired.push([name, clock.now() - START]);
    clock.setTimer(START + 30 * SECOND, record("30s"));
    clock.setTimer(START + 10 * SECOND, record("10s-a"));
    clock.setTimer(START + 20 * SECOND, record("20s"));
    clock.setTimer(START + 10 * SECOND, record("10s-b"));
    clock.setTimer(START + 120 * SECOND, record("2min"));
    expect(clock.pendingTimers).toBe(5);

    await clock.advance("1 minute");

    expect(fired).toEqual([
      ["10s-a", 10 * SECOND],
      ["10s-b", 10 * SECOND],
      ["20s", 20 * SECOND],
      ["30s", 30 * SECOND],
    ]);
    expect(clock.now()).toBe(START + 60 * SECOND);
    expect(clock.pendingTimers).toBe(1);

    await clock.advance(60 * SECOND);
    expect(fired.at(-1)).toEqual(["2min", 120 * SECOND]);
    expect(clock.pendingTimers).toBe(0);
  });

  it("fires a timer at the end of the window", async () => {
    const clock = virtual();
    const fired: number[] = [];
    clock.setTimer(START + SECOND, () => void fired.push(clock.now()));
    await clock.advance(SECOND);
    expect(fired).toEqual([START + SECOND]);
  });

  it("fires timers armed by callbacks within the same advance, at their virtual time", async () => {
    const clock = virtual();
    const fired: Array<[string, number]> = [];
    clock.setTimer(START + 10 * SECOND, () => {
      fired.push(["first", clock.now() - START]);
      clock.setTimer(START + 15 * SECOND, () => {
        fired.push(["armed at 10s for 15s", clock.now() - START]);
        clock.setTimer(clock.now(), () => void fired.push(["armed for now", clock.now() - START]));
      });
      clock.setTimer(START + 70 * SECOND, () => void fired.push(["after the window", clock.now() - START]));
    });
    clock.setTimer(START + 40 * SECOND, () => void fired.push(["40s", clock.now() - START]));

    await clock.advance("1 minute");

    expect(fired).toEqual([
      ["first", 10 * SECOND],
      ["armed at 10s for 15s", 15 * SECOND],
      ["armed for now", 15 * SECOND],
      ["40s", 40 * SECOND],
    ]);
    expect(clock.pendingTimers).toBe(1);
    await clock.advance("10 s");
    expect(fired.at(-1)).toEqual(["after the window", 70 * SECOND]);
  });

  it("fires follow-up timers that async work arms after a real event-loop turn", async () => {
    const clock = virtual();
    const fired: number[] = [];
    clock.setTimer(START + SECOND, () => {
      // Not returned, so not awaited: the follow-up is armed a turn later, still at 1 s.
      void turn().then(() => clock.setTimer(START + 2 * SECOND, () => void fired.push(clock.now() - START)));
    });
    await clock.advance("5 s");
    expect(fired).toEqual([2 * SECOND]);
  });

  it("cancels timers, also from inside another timer", async () => {
    const clock = virtual();
    const fired: string[] = [];
    const cancelA = clock.setTimer(START + SECOND, () => void fired.push("a"));
    let cancelC = () => {};
    clock.setTimer(START + 2 * SECOND, () => {
      fired.push("b");
      cancelC();
    });
    cancelC = clock.setTimer(START + 3 * SECOND, () => void fired.push("c"));
    cancelA();
    expect(clock.pendingTimers).toBe(2);
    await clock.advance("10 s");
    expect(fired).toEqual(["b"]);
    expect(clock.pendingTimers).toBe(0);
    cancelA(); // cancelling twice, or after firing, is harmless
  });

  it("awaits an async callback before firing the next timer", async () => {
    const clock = virtual();
    const events: string[] = [];
    clock.setTimer(START + SECOND, async () => {
      events.push("a start");
      await sleep(5);
      await turn();
      events.push(`a end at ${clock.now() - START}`);
    });
    clock.setTimer(START + SECOND, () => void events.push(`b at ${clock.now() - START}`));
    clock.setTimer(START + 2 * SECOND, () => void events.push(`c at ${clock.now() - START}`));
    await clock.advance("3 s");
    expect(events).toEqual(["a start", "a end at 1000", "b at 1000", "c at 2000"]);
  });

  it("fires due timers on its own, without an advance", async () => {
    const clock = virtual();
    const fired: string[] = [];
    clock.setTimer(START, () => void fired.push("now"));
    clock.setTimer(START - 5 * SECOND, () => void fired.push("past"));
    clock.setTimer(START + 1, () => void fired.push("future"));
    expect(fired).toEqual([]); // not synchronously
    await vi.waitFor(() => expect(fired).toEqual(["past", "now"]));
    expect(clock.now()).toBe(START);
    expect(clock.pendingTimers).toBe(1);
  });

  it("settle() fires due timers and waits for their work", async () => {
    const clock = virtual();
    const events: string[] = [];
    clock.setTimer(START, async () => {
      await sleep(5);
      events.push("done");
      clock.setTimer(START, () => void events.push("follow-up"));
    });
    await clock.settle();
    expect(events).toEqual(["done", "follow-up"]);
    expect(clock.now()).toBe(START);
    await clock.settle(); // nothing due: returns
  });

  it("advance() waits for work that started on its own", async () => {
    const clock = virtual();
    let done = false;
    clock.setTimer(START, async () => {
      await sleep(10);
      done = true;
    });
    await turn(); // the timer has fired by itself and is still running
    expect(clock.pendingTimers).toBe(0);
    expect(done).toBe(false);
    await clock.advance(0);
    expect(done).toBe(true);
  });

  it("logs errors from callbacks and keeps going", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const clock = virtual();
    const thrown = new Error("sync failure");
    const rejected = new Error("async failure");
    const fired: string[] = [];
    clock.setTimer(START + SECOND, () => {
      throw thrown;
    });
    clock.setTimer(START + 2 * SECOND, async () => {
      await turn();
      throw rejected;
    });
    clock.setTimer(START + 3 * SECOND, () => void fired.push("third"));
    await clock.advance("5 s");
    expect(fired).toEqual(["third"]);
    expect(errors.mock.calls).toEqual([
      ["[hearth] timer:", thrown],
      ["[hearth] timer:", rejected],
    ]);
  });

  it("advanceTo() moves to a date and never goes back", async () => {
    const clock = virtual();
    const fired: number[] = [];
    clock.setTimer(START + 3 * SECOND, () => void fired.push(clock.now() - START));
    await clock.advanceTo(new Date(START + 5 * SECOND));
    expect(clock.now()).toBe(START + 5 * SECOND);
    expect(fired).toEqual([3 * SECOND]);
    await clock.advanceTo(START);
    expect(clock.now()).toBe(START + 5 * SECOND);
  });

  it("runs overlapping advances one after the other", async () => {
    const clock = virtual();
    const fired: number[] = [];
    clock.setTimer(START + 1500, () => void fired.push(clock.now() - START));
    const first = clock.advance("1 s");
    const second = clock.advance("1 s");
    await Promise.all([first, second]);
    expect(clock.now()).toBe(START + 2 * SECOND);
    expect(fired).toEqual([1500]);
  });

  it("refuses bad input", async () => {
    const clock = virtual();
    expect(() => clock.setTimer(Number.NaN, () => {})).toThrow(RangeError);
    await expect(clock.advance("soon")).rejects.toThrow(TypeError);
    await expect(clock.advance(-1)).rejects.toThrow(RangeError);
    await expect(clock.advanceTo(new Date(Number.NaN))).rejects.toThrow(RangeError);
    expect(() => new VirtualClock({ start: Number.POSITIVE_INFINITY })).toThrow(RangeError);
  });

  it("dispose() cancels timers", async () => {
    const clock = virtual();
    const fired: string[] = [];
    clock.setTimer(START, () => void fired.push("due"));
    clock.setTimer(START + SECOND, () => void fired.push("later"));
    clock.dispose();
    expect(clock.pendingTimers).toBe(0);
    await clock.advance("5 s");
    await turn();
    expect(fired).toEqual([]);
  });

  describe("patchDate", () => {
    it("makes Date follow virtual time until dispose, leaving real timers alone", async () => {
      const realBefore = Date.now();
      const clock = virtual({ patchDate: true });
      expect(Date.now()).toBe(START);
      expect(new Date().toISOString()).toBe("2030-01-01T00:00:00.000Z");

      const seen: number[] = [];
      clock.setTimer(START + 90 * SECOND, () => void seen.push(Date.now(), new Date().getTime()));
      await clock.advance("2 minutes");
      expect(seen).toEqual([START + 90 * SECOND, START + 90 * SECOND]);
      expect(Date.now()).toBe(START + 120 * SECOND);
      expect(new Date().toISOString()).toBe("2030-01-01T00:02:00.000Z");

      // setTimeout and setImmediate are real: they fire without the clock moving.
      await sleep(1);
      await turn();
      expect(Date.now()).toBe(START + 120 * SECOND);

      clock.dispose();
      expect(Date.now()).toBeGreaterThanOrEqual(realBefore);
      expect(Date.now()).toBeLessThan(START);
      expect(new Date().getTime()).toBeLessThan(START);
    });

    it("leaves Date alone by default", async () => {
      const clock = virtual();
      await clock.advance("1 day");
      expect(Date.now()).toBeLessThan(START);
    });

    it("refuses a second patching clock clearly", () => {
      virtual({ patchDate: true });
      expect(() => new VirtualClock({ patchDate: true })).toThrow(/cannot patch Date/);
    });
  });
});

describe("systemClock", () => {
  it("reads the real time", () => {
    const before = Date.now();
    const now = systemClock.now();
    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });

  it("fires a short timer", async () => {
    let fired = false;
    await new Promise<void>((resolve) =>
      systemClock.setTimer(systemClock.now() + 20, () => {
        fired = true;
        resolve();
      }),
    );
    expect(fired).toBe(true);
  });

  it("fires a timer in the past at once", async () => {
    await new Promise<void>((resolve) => systemClock.setTimer(systemClock.now() - 60_000, resolve));
  });

  it("does not fire a cancelled timer", async () => {
    let fired = false;
    const cancel = systemClock.setTimer(systemClock.now() + 5, () => {
      fired = true;
    });
    cancel();
    await new Promise<void>((resolve) => systemClock.setTimer(systemClock.now() + 30, resolve));
    expect(fired).toBe(false);
  });

  it("does not fire early for times beyond Node's longest timeout", async () => {
    let fired = false;
    const cancel = systemClock.setTimer(systemClock.now() + 30 * 24 * 3600 * SECOND, () => {
      fired = true;
    });
    await sleep(20);
    expect(fired).toBe(false);
    cancel();
  });

  it("logs errors from callbacks", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    const thrown = new Error("sync failure");
    const rejected = new Error("async failure");
    systemClock.setTimer(systemClock.now(), () => {
      throw thrown;
    });
    systemClock.setTimer(systemClock.now(), () => Promise.reject(rejected));
    await vi.waitFor(() => expect(errors).toHaveBeenCalledTimes(2));
    expect(errors.mock.calls).toContainEqual(["[hearth] timer:", thrown]);
    expect(errors.mock.calls).toContainEqual(["[hearth] timer:", rejected]);
  });

  it("refuses a time that is not finite", () => {
    expect(() => systemClock.setTimer(Number.NaN, () => {})).toThrow(RangeError);
  });
});
