import type { HistogramSeriesSnapshot, MetricSnapshot } from "../metrics/registry.ts";
import { histogramQuantile, type CumulativeBucket } from "./quantile.ts";
import type { AlertRule, LabelMatcher } from "./types.ts";
import type { WindowReadings } from "./window-readings.ts";

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
export function readMetricRule(rule: MetricRule, families: readonly MetricSnapshot[], windows: WindowReadings, now: number, maxInstances: number): RuleReading {
  const values: RuleReading["values"] = new Map();
  const prefix = `${rule.id}\u0000`;
  const family = families.find((f) => f.name === rule.metric);
  if (!family) {
    windows.forget(prefix);
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
    const windowKey = prefix + key;
    seen.add(windowKey);
    const result = measure(rule, entry, windows, windowKey, now);
    if (typeof result === "number" && !Number.isNaN(result)) values.set(key, { labels: entry.labels, value: result });
    else if (result === WAITING) {
      waiting.add(key);
      why = "waiting for a second sample in the window";
    } else why = "no observations in the window";
  }
  windows.forget(prefix, seen);

  if (overflow > 0) return { health: "ok", detail: `more than ${maxInstances} label sets; ${overflow} series ignored`, values, waiting };
  if (groups.size === 0) return { health: "no data", detail: `no series of ${rule.metric} match`, values };
  if (values.size === 0) return { health: "no data", detail: why, values, waiting };
  return { health: "ok", detail: null, values, waiting };
}

/** A windowed measure has seen only one sample so far. */
const WAITING = Symbol("waiting");

function measure(rule: MetricRule, entry: { value: number; buckets?: CumulativeBucket[] }, windows: WindowReadings, key: string, now: number): number | undefined | typeof WAITING {
  switch (rule.measure) {
    case "value":
      return entry.value;
    case "rate":
    case "increase": {
      const grown = windows.add(key, now, [entry.value], rule.windowMs!);
      if (!grown) return WAITING;
      const increase = grown.increase[0]!;
      return rule.measure === "increase" ? increase : increase / ((now - grown.since) / 1000);
    }
    case "quantile": {
      const buckets = entry.buckets ?? [];
      if (rule.windowMs === null) return histogramQuantile(rule.quantile!, buckets);
      const grown = windows.add(key, now, buckets.map((b) => b.count), rule.windowMs, buckets.map((b) => b.le));
      if (!grown) return WAITING;
      return histogramQuantile(rule.quantile!, buckets.map((b, i) => ({ le: b.le, count: grown.increase[i]! })));
    }
  }
}
