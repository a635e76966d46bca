import { writeExposition } from "./exposition.ts";
import { Counter, Gauge, Histogram, type GaugeOptions, type HistogramOptions, type Metric } from "./metric-types.ts";
import type { MetricOptions } from "./series.ts";

/** One counter or gauge series in a {@link MetricsRegistry.snapshot}. */
export interface ValueSeriesSnapshot {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** One histogram series in a {@link MetricsRegistry.snapshot}: cumulative counts per upper bound (the last is `Infinity`), sum and count. */
export interface HistogramSeriesSnapshot {
  readonly labels: Readonly<Record<string, string>>;
  readonly buckets: ReadonlyArray<{ readonly le: number; readonly count: number }>;
  readonly sum: number;
  readonly count: number;
}

/** One metric family in a {@link MetricsRegistry.snapshot}, its series copied (later observations do not change it). */
export type MetricSnapshot =
  | { readonly name: string; readonly help: string; readonly type: "counter" | "gauge"; readonly series: readonly ValueSeriesSnapshot[] }
  | { readonly name: string; readonly help: string; readonly type: "histogram"; readonly series: readonly HistogramSeriesSnapshot[] };

/** Series one metric may hold by default; past it, new label combinations are dropped and counted. */
export const DEFAULT_MAX_SERIES_PER_METRIC = 2000;

/** How {@link MetricsRegistry.expose} reads. */
export interface ExposeOptions {
  /** False for a read that is not a Prometheus scrape: `afterScrape` hooks do not run. Default true. */
  readonly scrape?: boolean;
}

export interface RegistryOptions {
  /** Series per metric before new label combinations are dropped. Default {@link DEFAULT_MAX_SERIES_PER_METRIC}. */
  maxSeriesPerMetric?: number;
}

/**
 * A set of metrics and their Prometheus text exposition. No dependencies; one per server.
 * Series past the per-metric cap are dropped and counted in `hearth_metrics_series_dropped_total{metric}`.
 * @example
 * const registry = new MetricsRegistry();
 * const hits = registry.counter({ name: "app_hits_total", help: "Hits.", labelNames: ["route"] });
 * hits.inc({ route: "/" });
 * const text = registry.expose(); // "# HELP app_hits_total Hits.\n# TYPE app_hits_total counter\napp_hits_total{route=\"/\"} 1\n"
 */
export class MetricsRegistry {
  readonly #metrics = new Map<string, Metric>();
  readonly #maxSeries: number;
  readonly #dropped: Counter<"metric">;
  readonly #beforeScrape: Array<() => void> = [];
  readonly #afterScrape: Array<() => void> = [];

  constructor(options: RegistryOptions = {}) {
    const max = options.maxSeriesPerMetric ?? DEFAULT_MAX_SERIES_PER_METRIC;
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxSeriesPerMetric must be a positive integer, got ${max}`);
    this.#maxSeries = max;
    // Its own series are bounded by the number of metrics, so it never drops.
    this.#dropped = new Counter({ name: "hearth_metrics_series_dropped_total", help: "Observations dropped because their metric reached its series cap.", labelNames: ["metric"] }, Infinity, () => {});
  }

  counter<L extends string = never>(options: MetricOptions<L>): Counter<L> {
    return this.#add(new Counter<L>(options, this.#maxSeries, this.#onDropped));
  }

  gauge<L extends string = never>(options: GaugeOptions<L>): Gauge<L> {
    return this.#add(new Gauge<L>(options, this.#maxSeries, this.#onDropped));
  }

  histogram<L extends string = never>(options: HistogramOptions<L>): Histogram<L> {
    return this.#add(new Histogram<L>(options, this.#maxSeries, this.#onDropped));
  }

  /** Runs `hook` before every exposition (to sample a value that is read, not pushed). */
  beforeScrape(hook: () => void): void {
    this.#beforeScrape.push(hook);
  }

  /**
   * Runs `hook` after each scrape's exposition is written, not after other reads (`scrape: false`):
   * to start a new interval for values that cover "since the previous scrape" (the event-loop delay).
   */
  afterScrape(hook: () => void): void {
    this.#afterScrape.push(hook);
  }

  /**
   * The text exposition of every metric, callback gauges and hooks run first. `scrape: false` for a
   * read that is not Prometheus's (the inspector's charts): it leaves the scrape interval alone.
   */
  expose(options: ExposeOptions = {}): string {
    this.#collect();
    const text = writeExposition([...this.#metrics.values(), this.#dropped]);
    if (options.scrape !== false) for (const hook of this.#afterScrape) hook();
    return text;
  }

  /** Runs the scrape hooks and refills callback gauges. */
  #collect(): void {
    for (const hook of this.#beforeScrape) hook();
    this.#collectGauges();
  }

  #collectGauges(): void {
    for (const metric of this.#metrics.values()) {
      if (metric.type === "gauge" && metric.collect) {
        metric.table.clear();
        metric.collect(metric);
      }
    }
  }

  /**
   * Every metric's series as plain values, for programs that evaluate metrics (alert rules, the
   * inspector) without parsing the text format. Callback gauges are refilled first; scrape hooks are
   * not run: a snapshot must not shorten the interval the next scrape reports.
   * @example
   * const families = registry.snapshot();
   * const hits = families.find((f) => f.name === "app_hits_total"); // { type: "counter", series: [{ labels: { route: "/" }, value: 1 }] }
   */
  snapshot(): MetricSnapshot[] {
    this.#collectGauges();
    return [...this.#metrics.values(), this.#dropped].map((metric): MetricSnapshot => {
      const { name, help, labelNames } = metric.table;
      const labelsOf = (values: readonly string[]): Record<string, string> =>
        Object.fromEntries(labelNames.map((label, i) => [label, values[i]!]));
      if (metric.type === "histogram") {
        const series = [...metric.table.all()].map(({ labelValues, value }) => {
          let cumulative = 0;
          const buckets = metric.buckets.map((le, i) => ({ le, count: (cumulative += value.counts[i]!) }));
          buckets.push({ le: Infinity, count: value.count });
          return { labels: labelsOf(labelValues), buckets, sum: value.sum, count: value.count };
        });
        return { name, help, type: "histogram", series };
      }
      const series = [...metric.table.all()].map(({ labelValues, value }) => ({ labels: labelsOf(labelValues), value: value.v }));
      return { name, help, type: metric.type, series };
    });
  }

  readonly #onDropped = (metric: string): void => this.#dropped.inc({ metric });

  #add<M extends Metric>(metric: M): M {
    const name = metric.table.name;
    if (this.#metrics.has(name) || name === this.#dropped.table.name) throw new Error(`Metric ${name} is already registered`);
    this.#metrics.set(name, metric);
    return metric;
  }
}
