import { setImmediate } from "node:timers"; // Node's own: never an application's fake one
import type { Clock } from "../time/clock.ts";
import { dueKey, type DueIndex, type DueEntry } from "./due-index.ts";
import { WAKE_AHEAD_DEFAULTS, WakeAhead, type WakeAheadOptions } from "./wake-ahead.ts";
import { wakeRetryDelay } from "./wake-retry.ts";

export interface DispatcherOptions {
  index: DueIndex;
  clock: Clock;
  /** Runs what is due for one index entry; returns the entry's next due time (null: none). */
  wake: (slug: string, name: string) => Promise<number | null>;
  /** Entries woken at the same time. */
  concurrency: number;
  /**
   * How long to wait before waking an entry again after `failures` wakes of it in a row failed (its
   * agent could not start…). Default {@link wakeRetryDelay}: from 2 s, doubling, at most 5 min.
   */
  retryDelay?: (failures: number) => number;
  /** Where failed wakes are reported. */
  report: (slug: string, name: string, error: Error) => void;
  /**
   * Starts an entry's agent without running anything (a no-op event in its mailbox). Given, agents are
   * started ahead of their due time (see {@link WakeAhead}), so a wake is not part of a schedule's
   * lateness. Resolves when the agent is in memory.
   */
  warm?: (slug: string, name: string) => Promise<void>;
  /** How far ahead and how many; defaults: {@link WAKE_AHEAD_DEFAULTS}, `limit` twice `concurrency`. */
  wakeAhead?: Partial<WakeAheadOptions>;
}

interface InFlight {
  /** Lowest due time announced while the agent's tasks were running. */
  pendingLow: number | undefined;
}

/**
 * The host's side of durable time: one timer for the earliest entry of the {@link DueIndex}; when it
 * fires, the due entries are leased and woken (an agent runs its due tasks, a workflow instance
 * resumes). Afterwards each entry is set to its next due time, or removed.
 */
export class TaskDispatcher {
  readonly #options: DispatcherOptions;
  readonly #inFlight = new Map<string, InFlight>();
  readonly #running = new Set<Promise<void>>();
  /** Wakes in a row that failed, by entry (only entries failing now: a wake that works clears its count). */
  readonly #wakeFailures = new Map<string, number>();
  #finished: Array<{ entry: DueEntry; next: number | null; flight: InFlight }> = [];
  #timerAt: number | undefined;
  #cancelTimer: (() => void) | undefined;
  #stopped = false;
  readonly #ahead: WakeAhead | undefined;

  constructor(options: DispatcherOptions) {
    this.#options = options;
    if (options.warm) {
      const ahead = { ms: WAKE_AHEAD_DEFAULTS.ms, parallel: WAKE_AHEAD_DEFAULTS.parallel, limit: 2 * options.concurrency, ...options.wakeAhead };
      this.#ahead = new WakeAhead({ index: options.index, clock: options.clock, warm: options.warm }, ahead);
    }
  }

  /** Arms the timer for whatever is due (work left from before a restart runs at once). */
  start(): void {
    this.#arm();
    this.#ahead?.start();
  }

  /** Agents started ahead of their due time that have not come due yet. */
  get startedAhead(): number {
    return this.#ahead?.started ?? 0;
  }

  /** Stops dispatching; runs under way finish on their own. */
  stop(): void {
    this.#stopped = true;
    this.#ahead?.stop();
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
  }

  /** An agent has something due at `at`. */
  lower(slug: string, name: string, at: number): void {
    const flight = this.#inFlight.get(dueKey(slug, name));
    if (flight) flight.pendingLow = Math.min(flight.pendingLow ?? at, at);
    this.#options.index.lower(slug, name, at);
    this.#ahead?.notice(at);
    if (this.#timerAt === undefined || at < this.#timerAt) this.#arm();
  }

  /** Several entries have something due (one transaction for all). */
  lowerMany(entries: readonly DueEntry[]): void {
    let earliest = Number.POSITIVE_INFINITY;
    for (const { slug, name, at } of entries) {
      const flight = this.#inFlight.get(dueKey(slug, name));
      if (flight) flight.pendingLow = Math.min(flight.pendingLow ?? at, at);
      earliest = Math.min(earliest, at);
    }
    this.#options.index.lowerMany(entries);
    if (entries.length > 0) this.#ahead?.notice(earliest);
    if (this.#timerAt === undefined || earliest < this.#timerAt) this.#arm();
  }

  /** Sets an agent's exact next due time (when it hibernates with its tasks committed). */
  reconcile(slug: string, name: string, at: number | null): void {
    if (this.#inFlight.has(dueKey(slug, name))) return; // the run's end sets it
    this.#options.index.set(slug, name, at);
    if (at !== null) {
      this.#ahead?.notice(at); // the agent leaves memory: started again ahead of this time
      if (this.#timerAt === undefined || at < this.#timerAt) this.#arm();
    }
  }

  /** The agent is gone (destroyed). */
  forget(slug: string, name: string): void {
    this.#wakeFailures.delete(dueKey(slug, name));
    this.#options.index.set(slug, name, null);
  }

  /** An actor and its children are gone (a facet deleted with its subtree). */
  forgetTree(slug: string, name: string): void {
    const root = dueKey(slug, name);
    for (const key of this.#wakeFailures.keys()) if (key === root || key.startsWith(root + "\0")) this.#wakeFailures.delete(key);
    this.#options.index.removeTree(slug, name);
  }

  /** Resolves when every run under way has finished. */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
  }

  get inFlight(): number {
    return this.#inFlight.size;
  }

  #arm(): void {
    if (this.#stopped || this.#inFlight.size >= this.#options.concurrency) return;
    const at = this.#options.index.earliest();
    if (at === this.#timerAt) return;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    this.#timerAt = at ?? undefined;
    if (at !== null) this.#cancelTimer = this.#options.clock.setTimer(at, () => this.#tick());
  }

  /** The timer fired: lease what is due and run it. Resolves when those runs are done. */
  #tick(): Promise<void> {
    this.#timerAt = undefined;
    this.#cancelTimer = undefined;
    if (this.#stopped) return Promise.resolve();
    const free = this.#options.concurrency - this.#inFlight.size;
    const entries = free > 0 ? this.#options.index.due(this.#options.clock.now(), free) : [];
    this.#options.index.lease(entries);
    this.#ahead?.leased(entries);
    const runs = entries.map((entry) => this.#runAgent(entry));
    this.#arm();
    return Promise.allSettled(runs).then(() => undefined);
  }

  readonly #flushFinished = (): void => {
    const finished = this.#finished;
    this.#finished = [];
    const updates = finished.map(({ entry, next, flight }) => ({
      slug: entry.slug,
      name: entry.name,
      at: next === null ? (flight.pendingLow ?? null) : Math.min(next, flight.pendingLow ?? next),
    }));
    try {
      if (!this.#stopped) this.#options.index.setMany(updates);
    } catch (error) {
      for (const { slug, name } of updates) this.#options.report(slug, name, asError(error));
    } finally {
      for (const { entry, flight } of finished) {
        const key = dueKey(entry.slug, entry.name);
        if (this.#inFlight.get(key) === flight) this.#inFlight.delete(key);
      }
      this.#arm();
    }
  };

  #runAgent(entry: DueEntry): Promise<void> {
    const key = dueKey(entry.slug, entry.name);
    const flight: InFlight = { pendingLow: undefined };
    this.#inFlight.set(key, flight);
    const run = this.#options.wake(entry.slug, entry.name)
      .then(
        (next) => {
          this.#wakeFailures.delete(key);
          return next;
        },
        (error: unknown) => {
          // The agent could not be reached (failed to start, class removed…): try again soon, then
          // less and less often while it keeps failing.
          this.#options.report(entry.slug, entry.name, asError(error));
          const failures = (this.#wakeFailures.get(key) ?? 0) + 1;
          this.#wakeFailures.set(key, failures);
          return this.#options.clock.now() + (this.#options.retryDelay ?? wakeRetryDelay)(failures);
        },
      )
      .then((next) => {
        // Written with the others finishing in this turn, in one transaction; until then the entry
        // stays in flight so that a new task announced meanwhile lowers what is written.
        this.#finished.push({ entry, next, flight });
        if (this.#finished.length === 1) setImmediate(this.#flushFinished);
      })
      .catch((error: unknown) => this.#options.report(entry.slug, entry.name, asError(error)))
      .finally(() => this.#running.delete(run));
    this.#running.add(run);
    return run;
  }

}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
