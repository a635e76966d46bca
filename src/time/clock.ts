import { createRequire } from "node:module";
import type { withGlobal } from "@sinonjs/fake-timers";
import { parseDuration, type Duration } from "./duration.ts";
import { MAX_TIMEOUT_MS } from "./real-timeout.ts";
// Node's own timers, whatever a test's fake timers put on the global object, and whenever this module loads.
import { clearImmediate as realClearImmediate, clearTimeout as realClearTimeout, setImmediate as realSetImmediate, setTimeout as realSetTimeout } from "node:timers";

/** Time source for schedules: the host reads the time and arms its single timer through it. */
export interface Clock {
  /** Current time, epoch milliseconds. */
  now(): number;
  /** Calls `fn` at or after time `at` (epoch ms). Returns a function that cancels it. A promise returned by `fn` is awaited by virtual clocks (to know when fired work is finished). */
  setTimer(at: number, fn: () => void | Promise<void>): () => void;
  /**
   * Virtual clocks only: while an advance runs, the time it moves to. A periodic wake that only
   * exists to notice a crash (a fiber's heartbeat) may wait until then: time jumps, no process
   * crashes in between, and a wake every few virtual seconds of a days-long advance is all cost.
   */
  readonly advancingTo?: number | undefined;
}

// Taken at load, so the system clock stays real while a VirtualClock (or a test) fakes the globals.
const RealDate = globalThis.Date;

type FakeDate = ReturnType<ReturnType<typeof withGlobal>["install"]>;

/** The fake-timers library, loaded by the first clock that patches `Date`: every process loads this module, few patch. */
function fakeTimers(): { withGlobal: typeof withGlobal } {
  return createRequire(import.meta.url)("@sinonjs/fake-timers") as { withGlobal: typeof withGlobal };
}

function logTimerError(error: unknown): void {
  console.error("[hearth] timer:", error);
}

function checkAt(at: number): void {
  if (!Number.isFinite(at)) throw new RangeError(`setTimer: at must be finite epoch milliseconds, got ${at}`);
}

/**
 * The real clock: `Date.now()` and an unref'd `setTimeout` (it does not keep the process alive).
 * Times further away than Node's maximum timeout are reached in steps. Errors from `fn` are logged.
 *
 * @example
 * const cancel = systemClock.setTimer(systemClock.now() + 60_000, () => console.log("a minute later"));
 * cancel();
 */
export const systemClock: Clock = {
  now: () => RealDate.now(),
  setTimer(at, fn) {
    checkAt(at);
    let handle: ReturnType<typeof setTimeout> | undefined;
    let cancelled = false;
    const fire = (): void => {
      if (cancelled) return;
      cancelled = true;
      try {
        Promise.resolve(fn()).catch(logTimerError);
      } catch (error) {
        logTimerError(error);
      }
    };
    const arm = (): void => {
      const delay = Math.max(0, at - RealDate.now());
      // A long wait re-arms when the step is over, reading the time again then.
      handle = delay > MAX_TIMEOUT_MS ? realSetTimeout(arm, MAX_TIMEOUT_MS) : realSetTimeout(fire, delay);
      handle.unref();
    };
    arm();
    return () => {
      cancelled = true;
      if (handle !== undefined) realClearTimeout(handle);
    };
  },
};

/** Options for {@link VirtualClock}. */
export interface VirtualClockOptions {
  /** Virtual start time; default the real current time. */
  start?: Date | number;
  /** Make the global `Date` (`Date.now()`, `new Date()`) follow virtual time until `dispose()`. Default false. */
  patchDate?: boolean;
}

interface VirtualTimer {
  readonly seq: number;
  readonly at: number;
  readonly fn: () => void | Promise<void>;
}

/**
 * A clock for tests: time moves only when told to. `advance` fires due timers one at a time, in time
 * order, at their own virtual time, and awaits the work they return before firing the next.
 *
 * @example
 * const clock = new VirtualClock({ start: Date.parse("2025-01-01T00:00:00Z") });
 * clock.setTimer(clock.now() + 60_000, () => console.log("fired at", new Date(clock.now())));
 * await clock.advance("1 minute");
 */
export class VirtualClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, VirtualTimer>();
  /** The loop firing due timers, while it runs; there is only ever one. */
  #pump: Promise<void> | undefined;
  /** Advances run one after another, each from where the previous one left time. */
  #advancing: Promise<void> = Promise.resolve();
  #immediate: ReturnType<typeof setImmediate> | undefined;
  #fake: FakeDate | undefined;
  #advancingTo: number | undefined;
  /**
   * Awaited after fired timers, before time moves on: the owner of the clock (a test environment)
   * says when the work they started has settled.
   */
  waitForIdle: (() => Promise<void>) | undefined;

  constructor(options: VirtualClockOptions = {}) {
    this.#now = options.start === undefined ? RealDate.now() : toMs(options.start, "start");
    if (options.patchDate) {
      try {
        this.#fake = fakeTimers().withGlobal(globalThis).install({ now: this.#now, toFake: ["Date"] });
      } catch (error) {
        throw new Error("VirtualClock: cannot patch Date; is another VirtualClock or fake timer installed?", { cause: error });
      }
    }
  }

  /** Current virtual time, epoch milliseconds. */
  now(): number {
    return this.#now;
  }

  /** While an advance runs, the time it moves to (see Clock.advancingTo). */
  get advancingTo(): number | undefined {
    return this.#advancingTo;
  }

  /** Timers armed and not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.#timers.size;
  }

  /**
   * Arms a timer at virtual time `at`. One already due (`at <= now()`) fires on its own soon after,
   * without an advance; later ones wait for `advance`.
   */
  setTimer(at: number, fn: () => void | Promise<void>): () => void {
    checkAt(at);
    const seq = this.#seq++;
    this.#timers.set(seq, { seq, at, fn });
    if (at <= this.#now) this.#scheduleDrain();
    return () => {
      this.#timers.delete(seq);
    };
  }

  /**
   * Moves virtual time forward by `by`, firing every timer due on the way, including those armed
   * meanwhile, each at its own time; resolves when fired work is finished. Not to be awaited from
   * inside a timer callback: advances run one at a time, so that would wait for itself.
   *
   * @example
   * await clock.advance("1 day 2 hours");
   */
  async advance(by: Duration): Promise<void> {
    const ms = parseDuration(by, "advance");
    return this.#enqueue(() => this.#advanceTo(this.#now + ms));
  }

  /**
   * Moves virtual time forward to `date` like {@link VirtualClock.advance}. A time in the past does not move
   * the clock back; due timers still fire.
   *
   * @example
   * await clock.advanceTo(new Date("2025-02-01T00:00:00Z"));
   */
  async advanceTo(date: Date | number): Promise<void> {
    const target = toMs(date, "advanceTo");
    return this.#enqueue(() => this.#advanceTo(target));
  }

  /**
   * Fires every timer due at or before now and waits until none is due and fired work is finished.
   *
   * @example
   * clock.setTimer(clock.now(), work);
   * await clock.settle(); // work has run and finished
   */
  async settle(): Promise<void> {
    for (;;) {
      await this.#drainDue();
      // Work that fired may go on without timers (a workflow resuming); let it finish or wait again.
      if (this.waitForIdle) await this.waitForIdle();
      // One real macrotask, so work that arms a follow-up timer after a turn of I/O is seen here.
      await new Promise<void>((resolve) => realSetImmediate(resolve));
      if (this.#pump === undefined && this.#earliest(this.#now) === undefined) return;
    }
  }

  /** Cancels all timers and restores the global `Date` if it was patched. */
  dispose(): void {
    this.#timers.clear();
    if (this.#immediate !== undefined) realClearImmediate(this.#immediate);
    this.#immediate = undefined;
    this.#fake?.uninstall();
    this.#fake = undefined;
  }

  #enqueue(step: () => Promise<void>): Promise<void> {
    const run = this.#advancing.then(step);
    this.#advancing = run.catch(() => {});
    return run;
  }

  async #advanceTo(target: number): Promise<void> {
    this.#advancingTo = Math.max(this.#now, target);
    try {
      await this.settle();
      for (let next = this.#earliest(target); next !== undefined; next = this.#earliest(target)) {
        this.#setNow(Math.max(this.#now, next.at));
        await this.settle();
      }
      this.#setNow(Math.max(this.#now, target));
    } finally {
      this.#advancingTo = undefined;
    }
  }

  #setNow(ms: number): void {
    this.#now = ms;
    this.#fake?.setSystemTime(ms);
  }

  /** The earliest timer due at or before `limit`; ties go to the one armed first. */
  #earliest(limit: number): VirtualTimer | undefined {
    let best: VirtualTimer | undefined;
    for (const timer of this.#timers.values()) {
      if (timer.at <= limit && (best === undefined || timer.at < best.at)) best = timer;
    }
    return best;
  }

  #scheduleDrain(): void {
    if (this.#immediate !== undefined) return;
    this.#immediate = realSetImmediate(() => {
      this.#immediate = undefined;
      void this.#drainDue();
    });
  }

  /** Fires due timers until none is due, joining the pump if one is already running. */
  async #drainDue(): Promise<void> {
    for (;;) {
      if (this.#pump !== undefined) {
        await this.#pump;
        continue;
      }
      if (this.#earliest(this.#now) === undefined) return;
      const pump = this.#runPump();
      this.#pump = pump;
      try {
        await pump;
      } finally {
        if (this.#pump === pump) this.#pump = undefined;
      }
    }
  }

  async #runPump(): Promise<void> {
    for (let timer = this.#earliest(this.#now); timer !== undefined; timer = this.#earliest(this.#now)) {
      this.#timers.delete(timer.seq);
      try {
        await timer.fn();
      } catch (error) {
        logTimerError(error);
      }
    }
  }
}

function toMs(value: Date | number, what: string): number {
  // Not `instanceof`: a Date made while Date is patched comes from the fake class.
  const ms = typeof value === "number" ? value : typeof value?.getTime === "function" ? value.getTime() : Number.NaN;
  if (!Number.isFinite(ms)) throw new RangeError(`VirtualClock: ${what} must be a valid Date or epoch milliseconds, got ${String(value)}`);
  return ms;
}
