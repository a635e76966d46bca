import { systemClock } from "../../time/clock.ts";
import { identifyError } from "./fingerprint.ts";
import type { ErrorFilter } from "./types.ts";

/** One recorded error, as error rules and the inspector's problem list see it. */
export interface ErrorSample {
  readonly fingerprint: string;
  readonly name: string;
  readonly message: string;
  readonly at: number;
  readonly class?: string;
  readonly agent?: string;
  readonly traceId?: string;
}

/** Errors grouped by fingerprint (the inspector's "recent problems"). */
export interface ErrorGroup {
  readonly fingerprint: string;
  readonly name: string;
  readonly message: string;
  readonly class?: string;
  readonly count: number;
  readonly firstAt: number;
  readonly lastAt: number;
  readonly traceId?: string;
  readonly agent?: { readonly class: string; readonly name: string };
}

/**
 * Where error rules read errors from. {@link MemoryErrorSource} is the built-in one; a log store can
 * implement the same three methods.
 */
export interface ErrorSource {
  /** Errors matching `filter` recorded at or after `sinceMs`. */
  countSince(filter: ErrorFilter, sinceMs: number): number;
  /** The same, counted per fingerprint. */
  countByFingerprintSince(filter: ErrorFilter, sinceMs: number): Map<string, number>;
  /** The latest error matching `filter` (to show its message in a notification). */
  sample(filter: ErrorFilter): ErrorSample | undefined;
}

/** Where an error happened, given to {@link MemoryErrorSource.record}. */
export interface ErrorContext {
  readonly class?: string;
  readonly agent?: string;
  readonly traceId?: string;
}

export interface MemoryErrorSourceOptions {
  /** Time of recording. Default the system clock. */
  clock?: { now(): number };
  /** Errors kept; the oldest go first. Default 10,000. */
  maxErrors?: number;
  /** Errors older than this are forgotten, ms. Default one day (the longest rule window). */
  maxAgeMs?: number;
}

/** Default number of errors a {@link MemoryErrorSource} keeps. */
export const DEFAULT_MAX_ERRORS = 10_000;

function matches(sample: ErrorSample, filter: ErrorFilter): boolean {
  return (
    (filter.fingerprint === undefined || sample.fingerprint === filter.fingerprint) &&
    (filter.name === undefined || sample.name === filter.name) &&
    (filter.class === undefined || sample.class === filter.class)
  );
}

/**
 * Errors kept in memory, bounded by count and age, fingerprinted as they are recorded.
 * @example
 * const errors = new MemoryErrorSource();
 * errors.record(new Error("user 42 not found"), { class: "Chat" });
 * errors.countSince({ class: "Chat" }, Date.now() - 60_000); // 1
 */
export class MemoryErrorSource implements ErrorSource {
  readonly #clock: { now(): number };
  readonly #max: number;
  readonly #maxAge: number;
  /** Oldest first; may hold a few more than are kept until the next batch trim. */
  #errors: ErrorSample[] = [];

  constructor(options: MemoryErrorSourceOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#max = options.maxErrors ?? DEFAULT_MAX_ERRORS;
    this.#maxAge = options.maxAgeMs ?? 24 * 60 * 60_000;
    if (!Number.isInteger(this.#max) || this.#max < 1) throw new RangeError(`maxErrors must be a positive integer, got ${this.#max}`);
  }

  /** Records an error (anything thrown; a non-Error is recorded as an Error with its text) and answers its sample. */
  record(error: unknown, context: ErrorContext = {}): ErrorSample {
    const value = error instanceof Error || (typeof error === "object" && error !== null) ? (error as { name?: unknown; message?: unknown; stack?: unknown }) : { message: String(error) };
    const identity = identifyError(value);
    const sample: ErrorSample = {
      fingerprint: identity.fingerprint,
      name: identity.name,
      message: typeof value.message === "string" ? value.message : String(value.message ?? ""),
      at: this.#clock.now(),
      ...context,
    };
    this.#errors.push(sample);
    this.#trim();
    return sample;
  }

  countSince(filter: ErrorFilter, sinceMs: number): number {
    let count = 0;
    for (const sample of this.#kept()) if (sample.at >= sinceMs && matches(sample, filter)) count++;
    return count;
  }

  countByFingerprintSince(filter: ErrorFilter, sinceMs: number): Map<string, number> {
    const counts = new Map<string, number>();
    for (const sample of this.#kept()) {
      if (sample.at >= sinceMs && matches(sample, filter)) counts.set(sample.fingerprint, (counts.get(sample.fingerprint) ?? 0) + 1);
    }
    return counts;
  }

  sample(filter: ErrorFilter): ErrorSample | undefined {
    let latest: ErrorSample | undefined;
    for (const sample of this.#kept()) if (matches(sample, filter)) latest = sample;
    return latest;
  }

  /** Errors since `sinceMs` grouped by fingerprint, most recent first. */
  groups(sinceMs = 0): ErrorGroup[] {
    const groups = new Map<string, ErrorGroup>();
    for (const s of this.#kept()) {
      if (s.at < sinceMs) continue;
      const group = groups.get(s.fingerprint);
      groups.set(s.fingerprint, {
        fingerprint: s.fingerprint,
        name: s.name,
        message: s.message,
        count: (group?.count ?? 0) + 1,
        firstAt: group?.firstAt ?? s.at,
        lastAt: s.at,
        ...(s.class !== undefined ? { class: s.class } : {}),
        ...(s.traceId !== undefined ? { traceId: s.traceId } : {}),
        ...(s.class !== undefined && s.agent !== undefined ? { agent: { class: s.class, name: s.agent } } : {}),
      });
    }
    return [...groups.values()].sort((a, b) => b.lastAt - a.lastAt);
  }

  /** Errors currently kept. */
  get size(): number {
    return [...this.#kept()].length;
  }

  /** The kept errors: the newest `maxErrors`, none older than `maxAgeMs`. */
  *#kept(): Generator<ErrorSample> {
    const oldest = this.#clock.now() - this.#maxAge;
    for (let i = Math.max(0, this.#errors.length - this.#max); i < this.#errors.length; i++) {
      if (this.#errors[i]!.at >= oldest) yield this.#errors[i]!;
    }
  }

  /** Drops what is no longer kept, in batches (a tenth of the cap) so a full buffer does not copy itself on every record. */
  #trim(): void {
    const oldest = this.#clock.now() - this.#maxAge;
    let drop = Math.max(0, this.#errors.length - this.#max);
    while (drop < this.#errors.length && this.#errors[drop]!.at < oldest) drop++;
    if (drop >= Math.max(1, Math.floor(this.#max / 10))) this.#errors = this.#errors.slice(drop);
  }
}
