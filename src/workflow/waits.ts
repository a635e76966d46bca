/**
 * The branches of one execution of a workflow that wait: a sleep, a retry's backoff, an event (with
 * its timeout), or — with nothing to wake them here — a replay. While the run is in memory (another
 * branch runs a step, as in `Promise.race([step.do(…), step.waitForEvent(…)])`), a branch whose time
 * comes or whose event arrives goes on in this execution; once every branch waits and no step runs,
 * the run leaves memory, the timers here are dropped, and the instance's durable timer replays it.
 */
import type { Clock } from "../time/clock.ts";

interface Waiter {
  readonly at: number | null;
  /** The event type it also wakes for, if any. */
  readonly event: string | undefined;
  /** Goes on with the branch; undefined: only a replay goes on with it. */
  readonly again: (() => Promise<unknown>) | undefined;
  resolve(value: unknown): void;
  reject(error: unknown): void;
  cancel: (() => void) | undefined;
}

/**
 * @example
 * const waits = new RunWaits(clock);
 * return waits.wait(wakeAt, () => Promise.resolve()); // a sleep that ends in memory, or at its replay
 */
export class RunWaits {
  readonly #clock: Clock;
  readonly #waiters = new Set<Waiter>();
  /** The run is in memory: timers of its own wake its branches. */
  #inMemory = true;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /**
   * The branch waits until `at` (null: for no time) or, with `event`, until an event of that type
   * arrives. `again` is called when that happens while the run is in memory and settles the branch;
   * without it the branch waits for the replay.
   */
  wait<T>(at: number | null, again?: () => Promise<T>, event?: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = { at, event, again, resolve: resolve as (value: unknown) => void, reject, cancel: undefined };
      this.#waiters.add(waiter);
      if (this.#inMemory) this.#arm(waiter);
    });
  }

  /** How many branches wait. */
  get count(): number {
    return this.#waiters.size;
  }

  /** The earliest time a branch waits for; null when none waits for a time. */
  earliest(): number | null {
    let earliest: number | null = null;
    for (const { at } of this.#waiters) if (at !== null && (earliest === null || at < earliest)) earliest = at;
    return earliest;
  }

  /** The run left memory: its branches are woken by the durable timer's replay, not here. */
  leftMemory(): void {
    this.#inMemory = false;
    for (const waiter of this.#waiters) {
      waiter.cancel?.();
      waiter.cancel = undefined;
    }
  }

  /** The run is back in memory (a branch that awaited other work called a step). */
  backInMemory(): void {
    this.#inMemory = true;
    for (const waiter of this.#waiters) this.#arm(waiter);
  }

  /** An event of `type` was sent: the branches waiting for one look for it. */
  eventArrived(type: string): void {
    if (!this.#inMemory) return;
    for (const waiter of [...this.#waiters]) if (waiter.event === type) this.#wake(waiter);
  }

  #arm(waiter: Waiter): void {
    if (waiter.again === undefined || waiter.at === null || waiter.cancel !== undefined) return;
    // Not awaited by a virtual clock: what the branch does next may wait for a later timer of the same advance.
    waiter.cancel = this.#clock.setTimer(waiter.at, () => void this.#wake(waiter));
  }

  #wake(waiter: Waiter): void {
    if (!this.#inMemory || waiter.again === undefined || !this.#waiters.delete(waiter)) return;
    waiter.cancel?.();
    waiter.cancel = undefined;
    waiter.again!().then(waiter.resolve, waiter.reject);
  }
}
