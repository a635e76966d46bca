/** Metric names: `[a-zA-Z_:][a-zA-Z0-9_:]*` (text format 0.0.4). */
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
/** Label names: `[a-zA-Z_][a-zA-Z0-9_]*`; names starting with `__` are reserved by Prometheus. */
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Throws unless `name` is a valid Prometheus metric name. */
export function checkMetricName(name: string): void {
  if (!METRIC_NAME.test(name)) throw new Error(`Invalid metric name "${name}": it must match [a-zA-Z_:][a-zA-Z0-9_:]*`);
}

/** Throws unless every label name is valid, unreserved and unique; `reserved` adds names the metric type owns (`le`). */
export function checkLabelNames(metric: string, labelNames: readonly string[], reserved: readonly string[] = []): void {
  const seen = new Set<string>();
  for (const label of labelNames) {
    if (!LABEL_NAME.test(label)) throw new Error(`Invalid label name "${label}" on ${metric}: it must match [a-zA-Z_][a-zA-Z0-9_]*`);
    if (label.startsWith("__")) throw new Error(`Invalid label name "${label}" on ${metric}: names starting with "__" are reserved`);
    if (reserved.includes(label)) throw new Error(`Invalid label name "${label}" on ${metric}: "${label}" is reserved for this metric type`);
    if (seen.has(label)) throw new Error(`Duplicate label name "${label}" on ${metric}`);
    seen.add(label);
  }
}
