import type { Clock } from "../time/clock.ts";
import { dueKey, type DueEntry, type DueIndex } from "./due-index.ts";

/** How far ahead agents are started, and how many at once. */
export interface WakeAheadOptions {
  /** An entry's agent is started this long before it is due (ms). Default {@link WAKE_AHEAD_DEFAULTS}.ms. */
  ms: number;
  /**
   * Agents started ahead whose entries have not come due yet, at most (a flood of schedules does not
   * start everything). A function is read at every pass: the room for open agents changes as they come and go.
   */
  limit: number | (() => number);
  /** Starts under way at once (each opens a database on the event loop). */
  parallel: number;
}

/** The defaults; `limit` defaults to twice the dispatcher's concurrency. */
export const WAKE_AHEAD_DEFAULTS = { ms: 1_000, parallel: 4 } as const;

/** A started entry that was never leased (cancelled, moved later) is forgotten after this long past its time. */
const STALE_AFTER_MS = 10_000;
/** The dispatcher is this far behind (an entry overdue and not leased): no starts ahead until it catches up. */
const BEHIND_MS = 100;

export interface WakeAheadDeps {
  index: DueIndex;
  clock: Clock;
  /** Starts the entry's agent; runs nothing (the tasks run when the entry comes due). */
  warm: (slug: string, name: string) => Promise<void>;
}

/**
 * Starts the agents of entries coming due within the next `ms`, so that a hibernated agent's wake (its
 * database open, its onStart) is not part of its schedule's lateness. It only ever starts agents: the
 * tasks still run when the dispatcher leases the entry at its due time, so durable time's semantics are
 * untouched, and a start that fails only costs the lead (the due-time wake reports the problem).
 *
 * It walks the index in time order with one cursor (every entry up to it was started, leased, or due
 * already when looked at), a timer for the next entry to enter the window,
 * and a bound on started-but-not-due agents. An entry set or lowered behind the cursor
 * ({@link notice}) moves the cursor back to it. The next due time an agent gets after a run is not
 * noticed: that agent was just in memory.
 */
export class WakeAhead {
  readonly #deps: WakeAheadDeps;
  readonly #options: WakeAheadOptions;
  /** Entries started ahead and not leased yet: key → due time. */
  readonly #started = new Map<string, number>();
  #starting = 0;
  /** Every entry at or before this one (by time, then class and name) was looked at. */
  #cursor: DueEntry = { slug: "", name: "", at: Number.MIN_SAFE_INTEGER };
  #timerAt: number | undefined;
  #cancelTimer: (() => void) | undefined;
  #stopped = true;

  constructor(deps: WakeAheadDeps, options: WakeAheadOptions) {
    this.#deps = deps;
    this.#options = options;
  }

  start(): void {
    this.#stopped = false;
    this.#arm();
  }

  stop(): void {
    this.#stopped = true;
    this.#cancel();
  }

  /** Agents started ahead and not due yet. */
  get started(): number {
    return this.#started.size;
  }

  /**
   * An entry was set or lowered to `at`: its agent may be out of memory by then (it hibernated), or
   * in memory with its connection parked (idle); either way it is started again ahead of `at`.
   */
  notice(at: number): void {
    if (this.#stopped) return;
    if (at <= this.#cursor.at) this.#cursor = { slug: "", name: "", at: at - 1 };
    // The timer set for an earlier entry comes first and looks again: no index read per schedule().
    if (this.#timerAt !== undefined && at - this.#options.ms >= this.#timerAt) return;
    this.#arm();
  }

  /** The dispatcher leased these entries (they are due): their starts are done with. */
  leased(entries: readonly DueEntry[]): void {
    if (this.#started.size === 0) return;
    const full = this.#blocked();
    for (const { slug, name } of entries) this.#started.delete(dueKey(slug, name));
    this.#forgetStale();
    if (full) this.#arm();
  }

  #limit(): number {
    const { limit } = this.#options;
    return typeof limit === "number" ? limit : limit();
  }

  #blocked(): boolean {
    return this.#started.size >= this.#limit() || this.#starting >= this.#options.parallel;
  }

  #cancel(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    this.#timerAt = undefined;
  }

  /** Sets the timer for the next entry to enter the window (none while the bounds are reached). */
  #arm(at?: number): void {
    if (this.#stopped) return;
    if (this.#blocked()) return this.#cancel(); // a lease or a finished start arms again
    if (at === undefined) {
      const next = this.#deps.index.earliestAfter(this.#cursor);
      if (next === null) return this.#cancel();
      at = next - this.#options.ms;
    }
    if (at === this.#timerAt) return;
    this.#cancel();
    this.#timerAt = at;
    this.#cancelTimer = this.#deps.clock.setTimer(at, () => {
      this.#timerAt = undefined;
      this.#cancelTimer = undefined;
      this.#pass();
    });
  }

  /** Starts what is due within the window, as far as the bounds allow. */
  #pass(): void {
    if (this.#stopped) return;
    const now = this.#deps.clock.now();
    // Behind schedule, the dispatcher reaches an entry long after its time: an agent started now
    // would have its connection parked again by then, and the start would only add work.
    const overdue = this.#deps.index.earliest();
    if (overdue !== null && overdue < now - BEHIND_MS) return this.#arm(now + BEHIND_MS);
    const horizon = now + this.#options.ms;
    const room = Math.min(this.#limit() - this.#started.size, this.#options.parallel - this.#starting);
    if (room > 0) {
      const rows = this.#deps.index.dueAfter(this.#cursor, horizon, room);
      for (const row of rows) {
        this.#cursor = row;
        const key = dueKey(row.slug, row.name);
        // Due already: the dispatcher leases it at once, and starting it here would only add an event.
        if (row.at > now && !this.#started.has(key)) this.#begin(key, row);
      }
      // Fewer than asked for: nothing else is due within the window.
      if (rows.length < room) this.#cursor = { slug: "", name: "", at: horizon + 1 };
    }
    this.#arm();
  }

  #begin(key: string, entry: DueEntry): void {
    this.#started.set(key, entry.at);
    this.#starting++;
    this.#deps
      .warm(entry.slug, entry.name)
      .catch(() => {
        // The due-time wake tries again and reports what is wrong.
      })
      .finally(() => {
        const wasBlocked = this.#blocked();
        this.#starting--;
        if (wasBlocked) this.#arm();
      });
  }

  #forgetStale(): void {
    if (this.#started.size < this.#limit()) return;
    const before = this.#deps.clock.now() - STALE_AFTER_MS;
    for (const [key, at] of this.#started) if (at < before) this.#started.delete(key);
  }
}
