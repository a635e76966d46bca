import type { ObservabilityEvent } from "../../events/types.ts";
import { subscribe } from "../../events/subscribe.ts";
import { LEVEL_VALUES } from "../logs/levels.ts";
import { ErrorCountsByClass } from "./class-counts.ts";
import { fingerprintOf, topUserFrame } from "./fingerprint.ts";
import type { LogEntry } from "./log-entry.ts";
import type { LogStore } from "./log-store.ts";
import { cutProblemText, MAX_PROBLEM_NAME_CHARS, MAX_PROBLEM_TEXT_CHARS } from "./problem-text.ts";

/** Fingerprints kept by default; beyond it the one seen least recently is dropped. */
export const DEFAULT_MAX_FINGERPRINTS = 1_000;
/** Stored error entries counted at most when {@link ProblemStore.observe} starts with `since`. */
export const MAX_REPLAY = 10_000;
/** The largest `maxFingerprints` accepted. */
export const MAX_FINGERPRINTS = 100_000;

/**
 * A group of errors with the same fingerprint (the overview's "recent problems"). Its texts are cut
 * to {@link MAX_PROBLEM_TEXT_CHARS} (error name and class: {@link MAX_PROBLEM_NAME_CHARS}) and then
 * end with "…"; the fingerprint is made from the error as given.
 */
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
  /**
   * Occurrences counted without their class, because `MAX_CLASSES_PER_PROBLEM` other classes
   * had errors in this group in the last day: in `count` and unfiltered counts, not seen by a `class` filter.
   */
  overClassLimit?: number;
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
  /** An agent class: counts take the group's occurrences of this class only; lists, the groups that had one. */
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
  counts: ErrorCountsByClass;
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
    // From the error as given: the cut texts below would merge errors that differ past the cut.
    const fingerprint = fingerprintOf(error.name, error.message, frame);
    const message = cutProblemText(error.message, MAX_PROBLEM_TEXT_CHARS);
    const agentClass = error.class ? cutProblemText(error.class, MAX_PROBLEM_NAME_CHARS) : undefined;
    let group = this.#groups.get(fingerprint);
    if (group) {
      this.#groups.delete(fingerprint);
    } else {
      const name = cutProblemText(error.name, MAX_PROBLEM_NAME_CHARS);
      const problem: Problem = { fingerprint, name, message, count: 0, firstAt: error.time, lastAt: error.time };
      if (frame) problem.frame = cutProblemText(frame, MAX_PROBLEM_TEXT_CHARS);
      group = { problem, counts: new ErrorCountsByClass() };
      if (this.#groups.size >= this.#max) this.#groups.delete(this.#groups.keys().next().value!);
    }
    this.#groups.set(fingerprint, group);
    const { problem, counts } = group;
    problem.count++;
    counts.add(error.time, agentClass);
    if (counts.overLimit > 0) problem.overClassLimit = counts.overLimit;
    problem.firstAt = Math.min(problem.firstAt, error.time);
    if (error.time >= problem.lastAt) {
      problem.lastAt = error.time;
      problem.message = message;
      if (agentClass) problem.class = agentClass;
      if (agentClass && error.agent) problem.agent = { class: agentClass, name: cutProblemText(error.agent, MAX_PROBLEM_TEXT_CHARS) };
      if (error.traceId) problem.traceId = cutProblemText(error.traceId, MAX_PROBLEM_TEXT_CHARS);
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
    for (const group of this.#groups.values()) {
      const seenAt = lastMatchAt(group, options);
      if (seenAt !== undefined && seenAt >= (options.since ?? -Infinity)) found.push({ ...group.problem });
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
   * With `class`, each occurrence counts by its own class; `agent` matches a group's latest occurrence.
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
    const agentClass = filter.class === undefined ? undefined : cutProblemText(filter.class, MAX_PROBLEM_NAME_CHARS);
    for (const group of this.#groups.values()) {
      if (!matchesGroup(group.problem, filter)) continue;
      const count = group.counts.countSince(sinceMs, now, agentClass);
      if (count > 0) counts.set(group.problem.fingerprint, count);
    }
    return counts;
  }

  /**
   * The latest occurrence matching `filter`, as an alert notification shows it. With `class`, the group
   * whose latest occurrence of that class is the latest, at that time, with the group's latest message
   * (the same error), and its agent and trace only when that occurrence is also the group's latest.
   */
  sample(filter: ProblemFilter): ErrorSampleView | undefined {
    let latest: { problem: Problem; at: number } | undefined;
    for (const group of this.#groups.values()) {
      const at = lastMatchAt(group, filter);
      if (at !== undefined && (!latest || at >= latest.at)) latest = { problem: group.problem, at };
    }
    if (!latest) return undefined;
    const { problem, at } = latest;
    const sample: ErrorSampleView = { fingerprint: problem.fingerprint, name: problem.name, message: problem.message, at };
    const agentClass = filter.class === undefined ? problem.class : cutProblemText(filter.class, MAX_PROBLEM_NAME_CHARS);
    if (agentClass !== undefined) sample.class = agentClass;
    if (at === problem.lastAt && agentClass === problem.class) {
      if (problem.agent !== undefined && problem.agent.class === agentClass) sample.agent = problem.agent.name;
      if (problem.traceId !== undefined) sample.traceId = problem.traceId;
    }
    return sample;
  }

  /** How many fingerprints are kept. */
  get size(): number {
    return this.#groups.size;
  }
}

/** Whether a group matches `filter` but for its `class` (a filter's texts are cut as the group's are). */
function matchesGroup(problem: Problem, filter: ProblemFilter): boolean {
  if (filter.fingerprint !== undefined && problem.fingerprint !== filter.fingerprint) return false;
  if (filter.name !== undefined && problem.name !== cutProblemText(filter.name, MAX_PROBLEM_NAME_CHARS)) return false;
  if (filter.agent !== undefined && problem.agent?.name !== cutProblemText(filter.agent, MAX_PROBLEM_TEXT_CHARS)) return false;
  return true;
}

/** When the group's latest occurrence matching `filter` happened (with `class`, its latest of that class); undefined if none does. */
function lastMatchAt({ problem, counts }: Group, filter: ProblemFilter): number | undefined {
  if (!matchesGroup(problem, filter)) return undefined;
  return filter.class === undefined ? problem.lastAt : counts.lastAtOf(cutProblemText(filter.class, MAX_PROBLEM_NAME_CHARS));
}
