import type { HistogramSeriesSnapshot, MetricSnapshot } from "../metrics/registry.ts";
import { bucketDelta, histogramQuantile, type CumulativeBucket } from "./quantile.ts";
import type { AlertRule, LabelMatcher } from "./types.ts";

type MetricRule = Extract<AlertRule, { kind: "metric" }>;
type Labels = Readonly<Record<string, string>>;

/** What one evaluation of a rule found: a value per label set, or why there is none. */
export interface RuleReading {
  readonly health: "ok" | "no data" | "error";
  readonly detail: string | null;
  readonly values: Map<string, { labels: Labels; value: number; fingerprint?: string; message?: string }>;
  /**
   * Label sets whose windowed measure has no value yet (one reading so far, as after a restart): their
   * alerts keep their state, since "not known yet" is not "the condition stopped holding".
   */
  readonly waiting?: ReadonlySet<string>;
}

/** The key of a label set: its pairs sorted by name. */
export function labelKey(labels: Labels): string {
  return JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Why `rule` cannot be computed on a metric of type `type`, or null when it fits. */
export function ruleMisfit(rule: MetricRule, type: MetricSnapshot["type"]): string | null {
  const fits = rule.measure === "quantile" ? type === "histogram" : rule.measure === "value" ? type !== "histogram" : type === "counter";
  if (fits) return null;
  const wanted = rule.measure === "quantile" ? "a histogram" : rule.measure === "value" ? "a counter or gauge" : "a counter";
  return `measure "${rule.measure}" needs ${wanted}, but ${rule.metric} is a ${type}`;
}

/** Compiled matcher patterns; rules are few and their patterns fixed, so this stays small. */
const patterns = new Map<string, RegExp>();

function pattern(source: string): RegExp {
  let regex = patterns.get(source);
  if (!regex) {
    if (patterns.size >= 1000) patterns.clear();
    patterns.set(source, (regex = new RegExp(`^(?:${source})$`)));
  }
  return regex;
}

function matchOne(value: string, matcher: LabelMatcher): boolean {
  if (typeof matcher === "string") return value === matcher;
  switch (matcher.op) {
    case "=":
      return value === matcher.value;
    case "!=":
      return value !== matcher.value;
    case "=~":
      return pattern(matcher.value).test(value);
    case "!~":
      return !pattern(matcher.value).test(value);
  }
}

/** Whether a series' labels satisfy every matcher (a missing label reads as ""). */
export function matchLabels(labels: Labels, matchers: Readonly<Record<string, LabelMatcher>>): boolean {
  return Object.entries(matchers).every(([name, matcher]) => matchOne(labels[name] ?? "", matcher));
}

interface Sample {
  readonly t: number;
  readonly v: number | readonly CumulativeBucket[];
}

/**
 * Past readings of the series rules look at over a window (for `rate`, `increase` and windowed
 * quantiles), per rule and label set: the samples inside the window plus the newest one before it.
 */
export class SampleBuffer {
  readonly #samples = new Map<string, Sample[]>();

  /** Adds a reading and answers the one to compare with (at or before `t - windowMs`, else the oldest), if older than `t`. */
  push(key: string, sample: Sample, windowMs: number): Sample | undefined {
    let list = this.#samples.get(key);
    if (!list) this.#samples.set(key, (list = []));
    list.push(sample);
    const start = sample.t - windowMs;
    let firstInside = list.findIndex((s) => s.t > start);
    if (firstInside === -1) firstInside = list.length;
    // Keep the newest sample at or before the window's start: it is the base of the window.
    if (firstInside > 1) list.splice(0, firstInside - 1);
    return list[0]!.t < sample.t ? list[0] : undefined;
  }

  /** All samples of `key` in time order (for counting resets across them). */
  samples(key: string): readonly Sample[] {
    return this.#samples.get(key) ?? [];
  }

  /** Forgets every key of a rule not in `keep` (series that went away, or the whole rule). */
  forget(rulePrefix: string, keep: ReadonlySet<string> = new Set()): void {
    for (const key of this.#samples.keys()) if (key.startsWith(rulePrefix) && !keep.has(key)) this.#samples.delete(key);
  }
}

/** Sums values across series; with resets (a value lower than before) counted as starting again from 0. */
function increaseOver(samples: readonly Sample[]): number {
  let increase = 0;
  for (let i = 1; i < samples.length; i++) {
    const before = samples[i - 1]!.v as number;
    const now = samples[i]!.v as number;
    increase += now >= before ? now - before : now;
  }
  return increase;
}

function group(rule: MetricRule, labels: Labels): Labels {
  if (rule.by === null) return labels;
  return Object.fromEntries(rule.by.map((name) => [name, labels[name] ?? ""]));
}

function addBuckets(a: readonly CumulativeBucket[] | undefined, b: readonly CumulativeBucket[]): CumulativeBucket[] {
  return a ? a.map((bucket, i) => ({ le: bucket.le, count: bucket.count + (b[i]?.count ?? 0) })) : [...b];
}

/**
 * Computes a metric rule over a registry snapshot: selects series by matchers, groups them by `by`,
 * then takes the value, the rate or increase over the window, or a quantile. At most `maxInstances`
 * label sets; more are reported in the health detail.
 */
export function readMetricRule(rule: MetricRule, families: readonly MetricSnapshot[], buffer: SampleBuffer, now: number, maxInstances: number): RuleReading {
  const values: RuleReading["values"] = new Map();
  const prefix = `${rule.id}\u0000`;
  const family = families.find((f) => f.name === rule.metric);
  if (!family) {
    buffer.forget(prefix);
    return { health: "no data", detail: `metric ${rule.metric} is not registered`, values };
  }
  const misfit = ruleMisfit(rule, family.type);
  if (misfit) return { health: "error", detail: misfit, values };

  const groups = new Map<string, { labels: Labels; value: number; buckets?: CumulativeBucket[] }>();
  let overflow = 0;
  for (const series of family.series) {
    if (!matchLabels(series.labels, rule.matchers)) continue;
    const labels = group(rule, series.labels);
    const key = labelKey(labels);
    let entry = groups.get(key);
    if (!entry) {
      if (groups.size >= maxInstances) {
        overflow++;
        continue;
      }
      groups.set(key, (entry = { labels, value: 0 }));
    }
    if (family.type === "histogram") entry.buckets = addBuckets(entry.buckets, (series as HistogramSeriesSnapshot).buckets);
    else entry.value += (series as { value: number }).value;
  }

  const seen = new Set<string>();
  const waiting = new Set<string>();
  let why = "";
  for (const [key, entry] of groups) {
    const bufferKey = prefix + key;
    seen.add(bufferKey);
    const result = measure(rule, entry, buffer, bufferKey, now);
    if (typeof result === "number" && !Number.isNaN(result)) values.set(key, { labels: entry.labels, value: result });
    else if (result === WAITING) {
      waiting.add(key);
      why = "waiting for a second sample in the window";
    } else why = "no observations in the window";
  }
  buffer.forget(prefix, seen);

  if (overflow > 0) return { health: "ok", detail: `more than ${maxInstances} label sets; ${overflow} series ignored`, values, waiting };
  if (groups.size === 0) return { health: "no data", detail: `no series of ${rule.metric} match`, values };
  if (values.size === 0) return { health: "no data", detail: why, values, waiting };
  return { health: "ok", detail: null, values, waiting };
}

/** A windowed measure has seen only one sample so far. */
const WAITING = Symbol("waiting");

function measure(rule: MetricRule, entry: { value: number; buckets?: CumulativeBucket[] }, buffer: SampleBuffer, key: string, now: number): number | undefined | typeof WAITING {
  switch (rule.measure) {
    case "value":
      return entry.value;
    case "rate":
    case "increase": {
      const base = buffer.push(key, { t: now, v: entry.value }, rule.windowMs!);
      if (!base) return WAITING;
      const increase = increaseOver(buffer.samples(key));
      return rule.measure === "increase" ? increase : increase / ((now - base.t) / 1000);
    }
    case "quantile": {
      const buckets = entry.buckets ?? [];
      if (rule.windowMs === null) return histogramQuantile(rule.quantile!, buckets);
      const base = buffer.push(key, { t: now, v: buckets }, rule.windowMs);
      if (!base) return WAITING;
      return histogramQuantile(rule.quantile!, bucketDelta(buckets, base.v as CumulativeBucket[]));
    }
  }
}
