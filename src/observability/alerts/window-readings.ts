import { ALERT_LIMITS } from "./limits.ts";

/** One kept reading: when, and how much each count grew since the series' first reading. */
interface Reading {
  readonly t: number;
  /** Growth since the first reading, a counter reset counted as a restart from 0 (so it never goes down). */
  readonly totals: readonly number[];
}

interface Series {
  /** The histogram's bucket bounds (empty for a counter): another layout starts the series again. */
  readonly bounds: readonly number[];
  /** The last raw cumulative counts, to tell growth from a reset. */
  last: readonly number[];
  /** In time order: the window's base first, the newest last. */
  readonly readings: Reading[];
}

/** How much each count grew over the window, and since when (the base reading's time). */
export interface WindowIncrease {
  readonly since: number;
  readonly increase: readonly number[];
}

function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((bound, i) => bound === b[i]);
}

/**
 * Past readings of the series rules look at over a window (`rate`, `increase`, windowed quantiles), per
 * rule and label set. Each reading keeps its counts' growth since the first reading, resets counted
 * as restarts from 0, so the increase between any two kept readings is exact and readings in between
 * can be dropped: a window keeps at most `ALERT_LIMITS.readingsPerWindow` of them, at least
 * `window / readingsPerWindow` apart (plus its base and the newest). With more evaluations than that per
 * window, the base may be that much older than the window's start.
 */
export class WindowReadings {
  readonly #series = new Map<string, Series>();

  /**
   * Adds the reading of `key` at `t` — a counter's value, or a histogram's cumulative bucket counts with
   * their bounds — and answers the growth since the window's base: the newest reading at or before
   * `t - windowMs`, else the oldest. Undefined while there is no older reading.
   */
  add(key: string, t: number, counts: readonly number[], windowMs: number, bounds: readonly number[] = []): WindowIncrease | undefined {
    let series = this.#series.get(key);
    if (!series || !sameBounds(series.bounds, bounds) || series.last.length !== counts.length) {
      series = { bounds: [...bounds], last: counts, readings: [{ t, totals: counts.map(() => 0) }] };
      this.#series.set(key, series);
      return undefined;
    }
    const { readings } = series;
    const before = readings.at(-1)!.totals;
    const last = series.last;
    // A histogram resets as a whole: any count lower than before means every count restarted from 0.
    const reset = counts.some((count, i) => count < last[i]!);
    readings.push({ t, totals: counts.map((count, i) => before[i]! + (reset ? count : count - last[i]!)) });
    series.last = counts;

    // The reading before the newest goes when it is too close to the one before it: the newest carries
    // its growth, so only time resolution is lost.
    const n = readings.length;
    if (n >= 3 && readings[n - 2]!.t - readings[n - 3]!.t < windowMs / ALERT_LIMITS.readingsPerWindow) readings.splice(n - 2, 1);
    // Keep the newest reading at or before the window's start: it is the base of the window.
    const start = t - windowMs;
    let firstInside = readings.findIndex((r) => r.t > start);
    if (firstInside === -1) firstInside = readings.length;
    if (firstInside > 1) readings.splice(0, firstInside - 1);

    const base = readings[0]!;
    if (base.t >= t) return undefined;
    const now = readings.at(-1)!.totals;
    return { since: base.t, increase: now.map((total, i) => total - base.totals[i]!) };
  }

  /** Forgets every key of a rule not in `keep` (series that went away, or the whole rule). */
  forget(rulePrefix: string, keep: ReadonlySet<string> = new Set()): void {
    for (const key of this.#series.keys()) if (key.startsWith(rulePrefix) && !keep.has(key)) this.#series.delete(key);
  }

  /** How many readings `key` keeps (for tests of the bound). */
  size(key: string): number {
    return this.#series.get(key)?.readings.length ?? 0;
  }
}
