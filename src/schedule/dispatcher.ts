import type { Clock } from "../time/clock.ts";
import { formatDuration } from "../time/duration.ts";
import type { AgentTasks, RunOutcome } from "./agent-tasks.ts";
import type { DueIndex, DueEntry } from "./due-index.ts";
import type { TaskRef } from "./types.ts";

/** Runs a step against one agent's tasks, as an event in that agent's mailbox (waking it if needed). */
export type TaskDelivery = <T>(slug: string, name: string, step: (tasks: AgentTasks) => T | Promise<T>) => Promise<T>;

export interface DispatcherOptions {
  index: DueIndex;
  clock: Clock;
  deliver: TaskDelivery;
  /** A run still going after this long is reported as hung and retried. */
  hungTaskAfterMs: number;
  /** Agents whose tasks run at the same time. */
  concurrency: number;
  /** Where hung runs and dispatch failures are reported. */
  report: (slug: string, name: string, error: Error) => void;
}

/** Tasks run per agent before it goes back to the end of the line. */
const RUNS_PER_TURN = 1000;

interface InFlight {
  /** Lowest due time announced while the agent's tasks were running. */
  pendingLow: number | undefined;
}

/**
 * The host's side of durable time: one timer for the earliest entry of the {@link DueIndex}; when it
 * fires, the due agents are leased and each one's due tasks are run, one event per task, in its own
 * mailbox. Afterwards the agent's entry is set to its next due time (or removed).
 */
export class TaskDispatcher {
  readonly #options: DispatcherOptions;
  readonly #inFlight = new Map<string, InFlight>();
  readonly #running = new Set<Promise<void>>();
  #timerAt: number | undefined;
  #cancelTimer: (() => void) | undefined;
  #stopped = false;

  constructor(options: DispatcherOptions) {
    this.#options = options;
  }

  /** Arms the timer for whatever is due (work left from before a restart runs at once). */
  start(): void {
    this.#arm();
  }

  /** Stops dispatching; runs under way finish on their own. */
  stop(): void {
    this.#stopped = true;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
  }

  /** An agent has something due at `at`. */
  lower(slug: string, name: string, at: number): void {
    const flight = this.#inFlight.get(`${slug}\0${name}`);
    if (flight) flight.pendingLow = Math.min(flight.pendingLow ?? at, at);
    this.#options.index.lower(slug, name, at);
    if (this.#timerAt === undefined || at < this.#timerAt) this.#arm();
  }

  /** Sets an agent's exact next due time (when it hibernates with its tasks committed). */
  reconcile(slug: string, name: string, at: number | null): void {
    if (this.#inFlight.has(`${slug}\0${name}`)) return; // the run's end sets it
    this.#options.index.set(slug, name, at);
    if (at !== null && (this.#timerAt === undefined || at < this.#timerAt)) this.#arm();
  }

  /** The agent is gone (destroyed). */
  forget(slug: string, name: string): void {
    this.#options.index.set(slug, name, null);
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
    const runs = entries.map((entry) => this.#runAgent(entry));
    this.#arm();
    return Promise.allSettled(runs).then(() => undefined);
  }

  #runAgent(entry: DueEntry): Promise<void> {
    const key = `${entry.slug}\0${entry.name}`;
    const flight: InFlight = { pendingLow: undefined };
    this.#inFlight.set(key, flight);
    const run = this.#runDue(entry)
      .catch((error: unknown) => {
        // The agent could not be reached (failed to start, class removed…): try again later.
        this.#options.report(entry.slug, entry.name, asError(error));
        return this.#options.clock.now() + this.#options.hungTaskAfterMs;
      })
      .then((next) => {
        this.#inFlight.delete(key);
        const at = next === null ? flight.pendingLow ?? null : Math.min(next, flight.pendingLow ?? next);
        if (!this.#stopped) this.#options.index.set(entry.slug, entry.name, at);
        this.#arm();
      })
      .catch((error: unknown) => this.#options.report(entry.slug, entry.name, asError(error)))
      .finally(() => this.#running.delete(run));
    this.#running.add(run);
    return run;
  }

  /** Runs the agent's due tasks one by one; returns its next due time. */
  async #runDue({ slug, name }: DueEntry): Promise<number | null> {
    const { deliver, clock } = this.#options;
    let runs = 0;
    while (runs < RUNS_PER_TURN && !this.#stopped) {
      const due = await deliver(slug, name, (tasks) => tasks.due(clock.now(), 64));
      if (due.length === 0) break;
      for (const ref of due) {
        if (this.#stopped) break;
        await this.#runOne(slug, name, ref);
        runs++;
      }
    }
    return deliver(slug, name, (tasks) => tasks.nextDue());
  }

  async #runOne(slug: string, name: string, ref: TaskRef): Promise<void> {
    const { deliver, clock, hungTaskAfterMs } = this.#options;
    const running = deliver(slug, name, (tasks) => tasks.run(ref, clock.now()));
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<"hung">((resolve) => {
      // Real time on purpose: a hung callback is stuck in this world, not in a virtual one.
      timer = setTimeout(() => resolve("hung"), hungTaskAfterMs);
      timer.unref();
    });
    let outcome: RunOutcome | "hung";
    try {
      outcome = await Promise.race([running, hung]);
    } catch (error) {
      await deliver(slug, name, (tasks) => tasks.failed(ref, error, clock.now()));
      return;
    } finally {
      clearTimeout(timer);
    }
    if (outcome !== "hung") return;
    running.catch(() => {}); // it may still finish; the task row no longer belongs to it
    const message = `${ref.kind} ${ref.id} has not finished after ${formatDuration(hungTaskAfterMs)} (hungTaskAfterMs); reported as hung and retried`;
    this.#options.report(slug, name, new Error(message));
    await deliver(slug, name, (tasks) => tasks.hung(ref, message, clock.now()));
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
