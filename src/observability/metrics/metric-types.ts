import { SeriesTable, type LabelValues, type MetricOptions, type OnSeriesDropped } from "./series.ts";

/** Histogram state of one series: a count per bucket (not cumulative), the sum and the count. */
export interface HistogramState {
  readonly counts: number[];
  sum: number;
  count: number;
}

/**
 * A monotonic counter. Names end in `_total` by convention.
 * @example
 * const requests = registry.counter({ name: "app_requests_total", help: "Requests.", labelNames: ["status"] });
 * requests.inc({ status: 200 });
 */
export class Counter<L extends string = never> {
  readonly type = "counter";
  readonly table: SeriesTable<{ v: number }>;

  constructor(options: MetricOptions<L>, maxSeries: number, onDropped: OnSeriesDropped) {
    this.table = new SeriesTable(options, maxSeries, onDropped);
  }

  /** Adds `value` (default 1; must be finite and not negative). */
  inc(labels?: LabelValues<L>, value = 1): void {
    if (!(value >= 0) || !Number.isFinite(value)) throw new RangeError(`Counter ${this.table.name} can only grow by a finite value >= 0, got ${value}`);
    const series = this.table.get(labels, () => ({ v: 0 }));
    if (series) series.value.v += value;
  }
}

/**
 * A value that goes up and down. With `collect`, it is refilled at every scrape (callback gauge).
 * @example
 * registry.gauge({ name: "app_queue_depth", help: "Jobs waiting.", collect: (g) => g.set(undefined, queue.length) });
 */
export class Gauge<L extends string = never> {
  readonly type = "gauge";
  readonly table: SeriesTable<{ v: number }>;
  readonly collect: ((gauge: Gauge<L>) => void) | undefined;

  constructor(options: GaugeOptions<L>, maxSeries: number, onDropped: OnSeriesDropped) {
    this.table = new SeriesTable(options, maxSeries, onDropped);
    this.collect = options.collect;
  }

  set(labels: LabelValues<L> | undefined, value: number): void {
    const series = this.table.get(labels, () => ({ v: 0 }));
    if (series) series.value.v = value;
  }

  inc(labels?: LabelValues<L>, value = 1): void {
    const series = this.table.get(labels, () => ({ v: 0 }));
    if (series) series.value.v += value;
  }

  dec(labels?: LabelValues<L>, value = 1): void {
    this.inc(labels, -value);
  }
}

export interface GaugeOptions<L extends string> extends MetricOptions<L> {
  /** Called before each scrape, after the gauge's series were cleared: set the current values here. */
  readonly collect?: (gauge: Gauge<L>) => void;
}

export interface HistogramOptions<L extends string> extends MetricOptions<L> {
  /** Upper bounds, strictly increasing and finite; `+Inf` is added. Default: {@link DEFAULT_BUCKETS}. */
  readonly buckets?: readonly number[];
}

/** Prometheus's classic default buckets, in seconds. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * A classic histogram: `_bucket{le=…}` (cumulative, ending with `+Inf`), `_sum` and `_count`.
 * @example
 * const latency = registry.histogram({ name: "app_latency_seconds", help: "Latency.", buckets: [0.1, 1] });
 * latency.observe(undefined, 0.25);
 */
export class Histogram<L extends string = never> {
  readonly type = "histogram";
  readonly table: SeriesTable<HistogramState>;
  readonly buckets: readonly number[];

  constructor(options: HistogramOptions<L>, maxSeries: number, onDropped: OnSeriesDropped) {
    this.table = new SeriesTable(options, maxSeries, onDropped, ["le"]);
    this.buckets = checkBuckets(options.name, options.buckets ?? DEFAULT_BUCKETS);
  }

  observe(labels: LabelValues<L> | undefined, value: number): void {
    if (Number.isNaN(value)) throw new RangeError(`Histogram ${this.table.name} cannot observe NaN`);
    const series = this.table.get(labels, () => ({ counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 }));
    if (!series) return;
    const buckets = this.buckets;
    let index = 0;
    while (index < buckets.length && value > buckets[index]!) index++; // buckets.length: only in +Inf
    series.value.counts[index]! += 1;
    series.value.sum += value;
    series.value.count += 1;
  }
}

function checkBuckets(metric: string, buckets: readonly number[]): readonly number[] {
  if (buckets.length === 0) throw new Error(`Histogram ${metric} needs at least one bucket`);
  buckets.forEach((bound, i) => {
    if (!Number.isFinite(bound)) throw new Error(`Histogram ${metric}: bucket bounds must be finite (+Inf is added), got ${bound}`);
    if (i > 0 && bound <= buckets[i - 1]!) throw new Error(`Histogram ${metric}: bucket bounds must be strictly increasing, got ${buckets[i - 1]} then ${bound}`);
  });
  return [...buckets];
}

export type Metric = Counter<string> | Gauge<string> | Histogram<string>;
