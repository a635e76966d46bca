import type { ObservabilityEvent } from "../../events/types.ts";
import { subscribe } from "../../events/subscribe.ts";
import { LEVEL_VALUES } from "../logs/levels.ts";
import { ErrorBuckets } from "./error-buckets.ts";
import { fingerprintOf, topUserFrame } from "./fingerprint.ts";
import type { LogEntry } from "./log-entry.ts";
import type { LogStore } from "./log-store.ts";

/** Fingerprints kept by default; beyond it the one seen least recently is dropped. */
export const DEFAULT_MAX_FINGERPRINTS = 1_000;
/** Stored error entries counted at most when {@link ProblemStore.observe} starts with `since`. */
export const MAX_REPLAY = 10_000;
/** The largest `maxFingerprints` accepted. */
export const MAX_FINGERPRINTS = 100_000;

/** A group of errors with the same fingerprint (the overview's "recent problems"). */
export interface Problem {
  fingerprint: string;
  /** The error's type (`TypeError`), or the event type for an `agents:*` error event. */
  name: string;
  /** The latest occurrence's message, as written. */
  message: string;
  /** The first user-code stack frame the group was made with (`fn (file)`), if any. */
  frame?: string;
  /** The agent class of the latest occurrence that had one. */
  class?: string;
  /** The latest occurrence's agent. */
  agent?: { class: string; name: string };
  count: number;
  firstAt: number;
  lastAt: number;
  /** The latest occurrence's trace id. */
  traceId?: string;
}

/** One error to count. */
export interface ErrorOccurrence {
  name: string;
  message: string;
  stack?: string;
  /** Epoch ms. */
  time: number;
  class?: string;
  agent?: string;
  traceId?: string;
}

/** Which problems to count or list (all given fields must match). */
export interface ProblemFilter {
  fingerprint?: string;
  /** The error's type (`TypeError`), or an event type. */
  name?: string;
  class?: string;
  /** The latest occurrence's instance name. */
  agent?: string;
}

/** The latest error of a group, in the shape the alerts module's `ErrorSource.sample` answers. */
export interface ErrorSampleView {
  fingerprint: string;
  name: string;
  message: string;
  at: number;
  class?: string;
  agent?: string;
  traceId?: string;
}

export interface ProblemStoreOptions {
  /** Fingerprints kept (least recently seen dropped first). Default 1,000. */
  maxFingerprints?: number;
  /** The clock `countSince` counts back from. Default `Date.now`. */
  now?: () => number;
}

/** The `agents:*` events that report a failure, and where their payload says what failed. */
const ERROR_EVENTS: Readonly<Record<string, string>> = {
  "rpc:error": "method",
  "schedule:error": "callback",
  "queue:error": "callback",
  "message:error": "",
  "fiber:run:failed": "fiberName",
  "fiber:recovery:failed": "fiberName",
  "chat:request:failed": "stage",
};

interface Group {
  problem: Problem;
  buckets: ErrorBuckets;
}

/**
 * Errors grouped by fingerprint (the error's name, its message with numbers, ids and quoted strings
 * taken out, and the first stack frame in user code), with counts, first and last time and the latest
 * agent and trace. Fed by the log store's error records and, if asked, by `agents:*` error events;
 * bounded, least recently seen dropped first.
 * @example
 * const problems = new ProblemStore();
 * problems.observe(logs); // every error-level log entry with an `err`
 * problems.recent({ limit: 10 }); // [{ fingerprint, name, message, count, firstAt, lastAt, class, agent, traceId }]
 * problems.countSince({ class: "Chat" }, Date.now() - 5 * 60_000); // errors of Chat agents in the last 5 minutes
 */
export class ProblemStore {
  /** Least recently seen first: a new occurrence moves its group to the end. */
  readonly #groups = new Map<string, Group>();
  readonly #max: number;
  readonly #now: () => number;

  constructor(options: ProblemStoreOptions = {}) {
    const max = options.maxFingerprints ?? DEFAULT_MAX_FINGERPRINTS;
    if (!Number.isInteger(max) || max < 1 || max > MAX_FINGERPRINTS) {
      throw new RangeError(`maxFingerprints must be a whole number from 1 to ${MAX_FINGERPRINTS}, got ${max}`);
    }
    this.#max = max;
    this.#now = options.now ?? Date.now;
  }

  /** Counts one error; returns its group. */
  record(error: ErrorOccurrence): Problem {
    const frame = topUserFrame(error.stack);
    const fingerprint = fingerprintOf(error.name, error.message, frame);
    let group = this.#groups.get(fingerprint);
    if (group) {
      this.#groups.delete(fingerprint);
    } else {
      const problem: Problem = { fingerprint, name: error.name, message: error.message, count: 0, firstAt: error.time, lastAt: error.time };
      if (frame) problem.frame = frame;
      group = { problem, buckets: new ErrorBuckets() };
      if (this.#groups.size >= this.#max) this.#groups.delete(this.#groups.keys().next().value!);
    }
    this.#groups.set(fingerprint, group);
    const { problem } = group;
    problem.count++;
    group.buckets.add(error.time);
    problem.firstAt = Math.min(problem.firstAt, error.time);
    if (error.time >= problem.lastAt) {
      problem.lastAt = error.time;
      problem.message = error.message;
      if (error.class) problem.class = error.class;
      if (error.class && error.agent) problem.agent = { class: error.class, name: error.agent };
      if (error.traceId) problem.traceId = error.traceId;
    }
    return { ...problem };
  }

  /** Counts a log entry at level error or above that carries an `err`; others are ignored. */
  recordLog(entry: LogEntry): Problem | undefined {
    if (entry.level < LEVEL_VALUES.error) return undefined;
    const err = entry.err as { type?: unknown; name?: unknown; message?: unknown; stack?: unknown } | undefined;
    if (!err || typeof err !== "object") return undefined;
    const name = typeof err.type === "string" ? err.type : typeof err.name === "string" ? err.name : "Error";
    return this.record({
      name,
      message: typeof err.message === "string" ? err.message : String(entry.msg ?? ""),
      stack: typeof err.stack === "string" ? err.stack : undefined,
      time: entry.time,
      class: entry.class,
      agent: entry.agent,
      traceId: entry.traceId,
    });
  }

  /** Counts an `agents:*` event that reports a failure (`rpc:error`, `schedule:error`, …); others are ignored. */
  recordEvent(event: ObservabilityEvent): Problem | undefined {
    const where = ERROR_EVENTS[event.type];
    if (where === undefined) return undefined;
    const payload = event.payload as Record<string, unknown>;
    if (typeof payload.error !== "string") return undefined;
    return this.record({
      name: event.type,
      message: payload.error,
      // The method or callback that failed stands in for a stack frame.
      stack: where && typeof payload[where] === "string" ? `Error\n    at ${payload[where] as string} (${event.agent ?? "agent"})` : undefined,
      time: event.timestamp,
      class: event.agent,
      agent: event.name,
    });
  }

  /**
   * Counts the log store's error entries from now on (subscribes to it); with `since`, first counts
   * the stored ones from that time (at most {@link MAX_REPLAY}, the newest), so problems and
   * `countSince` survive a restart when the log store has a file. Returns the unsubscribe.
   */
  observe(logs: LogStore, options: { since?: number } = {}): () => void {
    if (options.since !== undefined) {
      const stored: LogEntry[] = [];
      let cursor: string | undefined;
      do {
        const page = logs.query({ level: "error", since: options.since, cursor, limit: 500 });
        stored.push(...page.items);
        cursor = page.next ?? undefined;
      } while (cursor && stored.length < MAX_REPLAY);
      for (const entry of stored.slice(0, MAX_REPLAY).reverse()) this.recordLog(entry);
    }
    return logs.subscribe((entry) => this.recordLog(entry), { filter: { level: "error" } });
  }

  /**
   * Counts failures published on the `agents:*` channels (rpc, schedule, message, fiber, chat). Off by
   * default: a subscriber makes every agent build its events (`hasSubscribers` turns true).
   * Returns the unsubscribe.
   */
  observeAgentEvents(): () => void {
    const stops = (["rpc", "schedule", "message", "fiber", "chat"] as const).map((key) =>
      subscribe(key, (event) => this.recordEvent(event as ObservabilityEvent)),
    );
    return () => stops.forEach((stop) => stop());
  }

  /** Problems seen most recently first, optionally only those matching `filter` and seen since `since`. */
  recent(options: ProblemFilter & { since?: number; limit?: number } = {}): Problem[] {
    const limit = options.limit ?? 20;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_FINGERPRINTS) throw new RangeError(`limit must be a whole number from 1 to ${MAX_FINGERPRINTS}, got ${limit}`);
    const found: Problem[] = [];
    for (const { problem } of this.#groups.values()) {
      if (options.since !== undefined && problem.lastAt < options.since) continue;
      if (matchesFilter(problem, options)) found.push({ ...problem });
    }
    return found.sort((a, b) => b.lastAt - a.lastAt).slice(0, limit);
  }

  /** The group of a fingerprint. */
  get(fingerprint: string): Problem | undefined {
    const group = this.#groups.get(fingerprint);
    return group && { ...group.problem };
  }

  /**
   * How many errors matching `filter` happened at or after `sinceMs` (for error alerts). Counted in
   * 10-second buckets over the last hour and 5-minute buckets over the last day (older times count
   * from a day ago); a bucket straddling `sinceMs` counts whole. Dropped fingerprints count no more.
   * `class` and `agent` match a group's latest occurrence.
   */
  countSince(filter: ProblemFilter, sinceMs: number): number {
    let total = 0;
    for (const count of this.countByFingerprintSince(filter, sinceMs).values()) total += count;
    return total;
  }

  /** {@link countSince} per fingerprint (fingerprints with no occurrence since then are left out). */
  countByFingerprintSince(filter: ProblemFilter, sinceMs: number): Map<string, number> {
    const now = this.#now();
    const counts = new Map<string, number>();
    for (const { problem, buckets } of this.#groups.values()) {
      if (!matchesFilter(problem, filter)) continue;
      const count = buckets.countSince(sinceMs, now);
      if (count > 0) counts.set(problem.fingerprint, count);
    }
    return counts;
  }

  /** The latest occurrence matching `filter`, as an alert notification shows it. */
  sample(filter: ProblemFilter): ErrorSampleView | undefined {
    let latest: Problem | undefined;
    for (const { problem } of this.#groups.values()) if (matchesFilter(problem, filter) && (!latest || problem.lastAt >= latest.lastAt)) latest = problem;
    if (!latest) return undefined;
    const sample: ErrorSampleView = { fingerprint: latest.fingerprint, name: latest.name, message: latest.message, at: latest.lastAt };
    if (latest.class !== undefined) sample.class = latest.class;
    if (latest.agent !== undefined) sample.agent = latest.agent.name;
    if (latest.traceId !== undefined) sample.traceId = latest.traceId;
    return sample;
  }

  /** How many fingerprints are kept. */
  get size(): number {
    return this.#groups.size;
  }
}

function matchesFilter(problem: Problem, filter: ProblemFilter): boolean {
  if (filter.fingerprint !== undefined && problem.fingerprint !== filter.fingerprint) return false;
  if (filter.name !== undefined && problem.name !== filter.name) return false;
  if (filter.class !== undefined && problem.class !== filter.class) return false;
  if (filter.agent !== undefined && problem.agent?.name !== filter.agent) return false;
  return true;
}
