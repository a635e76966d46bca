import { escapeHelp, escapeLabelValue, formatValue } from "./escape.ts";
import type { Metric } from "./metric-types.ts";

/** The Content-Type of the Prometheus text format this writer produces. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Writes metric families in the Prometheus text format 0.0.4, one `# HELP` and `# TYPE` per family. */
export function writeExposition(metrics: Iterable<Metric>): string {
  const lines: string[] = [];
  for (const metric of metrics) {
    const { name, help, labelNames } = metric.table;
    lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${metric.type}`);
    if (metric.type === "histogram") {
      for (const { labelValues, value } of metric.table.all()) {
        let cumulative = 0;
        metric.buckets.forEach((bound, i) => {
          cumulative += value.counts[i]!;
          lines.push(sample(`${name}_bucket`, labelNames, labelValues, cumulative, formatValue(bound)));
        });
        lines.push(sample(`${name}_bucket`, labelNames, labelValues, value.count, "+Inf"));
        lines.push(sample(`${name}_sum`, labelNames, labelValues, value.sum));
        lines.push(sample(`${name}_count`, labelNames, labelValues, value.count));
      }
    } else {
      for (const { labelValues, value } of metric.table.all()) lines.push(sample(name, labelNames, labelValues, value.v));
    }
  }
  return lines.length === 0 ? "" : lines.join("\n") + "\n";
}

function sample(name: string, labelNames: readonly string[], labelValues: readonly string[], value: number, le?: string): string {
  const pairs = labelNames.map((label, i) => `${label}="${escapeLabelValue(labelValues[i]!)}"`);
  if (le !== undefined) pairs.push(`le="${le}"`);
  return `${name}${pairs.length ? `{${pairs.join(",")}}` : ""} ${formatValue(value)}`;
}
