/**
 * Metrics for charts: the Prometheus exposition parsed into series, and an hour of history (one
 * point per sample, each metric's series summed) kept in memory while the inspector runs.
 */
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

/** Parses Prometheus text exposition (comments skipped, label values unescaped). */
export function parseExposition(text: string): Series[] {
  const series: Series[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = LINE.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const label of (match[3] ?? "").matchAll(LABEL)) labels[label[1]!] = label[2]!.replace(/\\n/g, "\n").replace(/\\(["\\])/g, "$1");
    const raw = match[4]!;
    const value = raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : Number(raw);
    series.push({ name: match[1]!, labels, value });
  }
  return series;
}

/** Samples a metrics source every `everyMs` and keeps the last hour of each metric's total. */
export class MetricsHistory {
  readonly #source: MetricsSource;
  readonly #points = new Map<string, Array<[number, number]>>();
  readonly #timer: NodeJS.Timeout;
  readonly #listeners = new Set<(series: Series[]) => void>();
  #last: Series[] = [];

  constructor(source: MetricsSource, everyMs: number = INSPECTOR_LIMITS.metricsSampleMs) {
    this.#source = source;
    this.sample();
    this.#timer = setInterval(() => this.sample(), everyMs).unref();
  }

  /** The current series (read now). */
  current(): Series[] {
    return parseExposition(this.#source.expose());
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
    this.#last = series;
    const now = Date.now();
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
