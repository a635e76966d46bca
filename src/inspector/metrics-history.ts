/**
 * Metrics for charts: the Prometheus exposition parsed into series, and an hour of history (one
 * point per sample, each metric's series summed) kept in memory while the inspector runs.
 */
import { clearInterval, setInterval } from "node:timers"; // Node's own: never an application's fake one
import { INSPECTOR_LIMITS } from "./limits.ts";
import type { MetricsSource } from "./sources.ts";

/** One series of the exposition. */
export interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** A label value as written unescaped: `\\`, `\"` and `\n`, in one pass (`C:\\new` is a backslash and "new", not a newline). */
function unescapeLabel(value: string): string {
  return value.replace(/\\([\\"n])/g, (_, char: string) => (char === "n" ? "\n" : char));
}

/** Parses Prometheus text exposition (comments skipped, label values unescaped). */
export function parseExposition(text: string): Series[] {
  const series: Series[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = LINE.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const label of (match[3] ?? "").matchAll(LABEL)) labels[label[1]!] = unescapeLabel(label[2]!);
    const raw = match[4]!;
    const value = raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : Number(raw);
    series.push({ name: match[1]!, labels, value });
  }
  return series;
}

function localDay(at: number): string {
  return new Date(at).toDateString();
}

function seriesKey(series: Series): string {
  return `${series.name}\0${JSON.stringify(series.labels)}`;
}

/** Samples a metrics source every `everyMs` and keeps the last hour of each metric's total. */
export class MetricsHistory {
  readonly #source: MetricsSource;
  readonly #points = new Map<string, Array<[number, number]>>();
  readonly #timer: NodeJS.Timeout;
  readonly #listeners = new Set<(series: Series[]) => void>();
  #last: Series[] = [];
  /** The local day of the last sample, and each series' value when that day began (empty: the process started that day). */
  #day = localDay(Date.now());
  #atDayStart = new Map<string, number>();

  constructor(source: MetricsSource, everyMs: number = INSPECTOR_LIMITS.metricsSampleMs) {
    this.#source = source;
    this.sample();
    this.#timer = setInterval(() => this.sample(), everyMs).unref();
  }

  /** The current series (read now). */
  current(): Series[] {
    return parseExposition(this.#source.expose({ scrape: false }));
  }

  /** `series` less what each held when the local day began: counters' totals for today. */
  sinceStartOfDay(series: readonly Series[]): Series[] {
    if (this.#atDayStart.size === 0) return [...series];
    return series.map((one) => ({ ...one, value: Math.max(0, one.value - (this.#atDayStart.get(seriesKey(one)) ?? 0)) }));
  }

  /** The series of the last sample. */
  get last(): Series[] {
    return this.#last;
  }

  /** `{ "<name>": [[t, v], …] }` over the last hour. */
  history(): Record<string, Array<[number, number]>> {
    return Object.fromEntries(this.#points);
  }

  /** Called with the series of every sample (the live stream's `metrics` topic). */
  onSample(listener: (series: Series[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Takes one sample now. */
  sample(): void {
    let series: Series[];
    try {
      series = this.current();
    } catch {
      return;
    }
    const now = Date.now();
    const day = localDay(now);
    if (day !== this.#day) {
      // The sample before midnight stands for the totals at midnight (at most one sample period off).
      this.#day = day;
      this.#atDayStart = new Map(this.#last.map((one) => [seriesKey(one), one.value]));
    }
    this.#last = series;
    const totals = new Map<string, number>();
    for (const one of series) {
      if (!Number.isFinite(one.value) || one.name.endsWith("_bucket")) continue;
      totals.set(one.name, (totals.get(one.name) ?? 0) + one.value);
    }
    for (const [name, value] of totals) {
      let points = this.#points.get(name);
      if (!points) {
        if (this.#points.size >= INSPECTOR_LIMITS.metricsHistoryNames) continue;
        this.#points.set(name, (points = []));
      }
      points.push([now, value]);
      if (points.length > INSPECTOR_LIMITS.metricsHistoryPoints) points.shift();
    }
    for (const listener of this.#listeners) listener(series);
  }

  close(): void {
    clearInterval(this.#timer);
    this.#listeners.clear();
  }
}
