import { checkLabelNames, checkMetricName } from "./names.ts";

/** Label values by label name; numbers are written as their decimal text (status codes). */
export type LabelValues<L extends string> = Readonly<Record<L, string | number>>;

/** What every metric family shares: its name, help, label names and the cap on its series. */
export interface MetricOptions<L extends string> {
  /** e.g. `hearth_http_requests_total`. */
  readonly name: string;
  /** One line of plain text; shown as `# HELP`. */
  readonly help: string;
  /** The label names every observation must give, in this order. */
  readonly labelNames?: readonly L[];
}

/** Told when a new series is refused because its metric already has `maxSeries` series. */
export type OnSeriesDropped = (metric: string) => void;

/** One series of a family: its label values in label-name order, and its value (a number or a histogram state). */
export interface Series<V> {
  readonly labelValues: readonly string[];
  readonly value: V;
}

/**
 * The series of one metric family, keyed by their label values, capped at `maxSeries`: past the
 * cap a new series is dropped (and reported) rather than growing memory and the scrape without bound.
 */
export class SeriesTable<V> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly #series = new Map<string, Series<V>>();
  readonly #maxSeries: number;
  readonly #onDropped: OnSeriesDropped;

  constructor(options: MetricOptions<string>, maxSeries: number, onDropped: OnSeriesDropped, reserved: readonly string[] = []) {
    checkMetricName(options.name);
    this.labelNames = options.labelNames ?? [];
    checkLabelNames(options.name, this.labelNames, reserved);
    this.name = options.name;
    this.help = options.help;
    this.#maxSeries = maxSeries;
    this.#onDropped = onDropped;
  }

  /** The series for these labels, made with `create` on first use; undefined when the cap refuses a new one. */
  get(labels: Readonly<Record<string, string | number>> | undefined, create: () => V): Series<V> | undefined {
    const key = this.#keyOf(labels ?? {});
    let series = this.#series.get(key);
    if (series) return series;
    if (this.#series.size >= this.#maxSeries) {
      this.#onDropped(this.name);
      return undefined;
    }
    series = { labelValues: this.#valuesOf(labels ?? {}), value: create() };
    this.#series.set(key, series);
    return series;
  }

  /** The series' key, without the arrays `#valuesOf` makes: this runs for every observation of every request. */
  #keyOf(labels: Readonly<Record<string, string | number>>): string {
    const names = this.labelNames;
    let key = "";
    for (let i = 0; i < names.length; i++) {
      const value = labels[names[i]!];
      if (value === undefined) return this.#valuesOf(labels).join("\u0000"); // throws: a label is missing
      key = i === 0 ? `${value}` : `${key}\u0000${value}`;
    }
    let given = 0;
    for (const _ in labels) given++;
    return given === names.length ? key : this.#valuesOf(labels).join("\u0000"); // throws: labels it does not take
  }

  all(): IterableIterator<Series<V>> {
    return this.#series.values();
  }

  /** Forgets every series (callback gauges start each scrape empty). */
  clear(): void {
    this.#series.clear();
  }

  #valuesOf(labels: Readonly<Record<string, string | number>>): string[] {
    const given = Object.keys(labels);
    const wrong = given.length !== this.labelNames.length || given.some((label) => !this.labelNames.includes(label));
    if (wrong) {
      throw new Error(`Metric ${this.name} takes labels {${this.labelNames.join(", ")}}, got {${given.join(", ")}}`);
    }
    return this.labelNames.map((label) => String(labels[label]));
  }
}
