export { MetricsRegistry, DEFAULT_MAX_SERIES_PER_METRIC, type ExposeOptions, type RegistryOptions } from "./registry.ts";
export { Counter, Gauge, Histogram, DEFAULT_BUCKETS, type GaugeOptions, type HistogramOptions } from "./metric-types.ts";
export type { LabelValues, MetricOptions } from "./series.ts";
export { writeExposition, PROMETHEUS_CONTENT_TYPE } from "./exposition.ts";
export { escapeLabelValue, escapeHelp, formatValue } from "./escape.ts";
export {
  createHearthMetrics,
  type HearthMetrics,
  type HearthMetricsOptions,
  type MetricsHostView,
  type RequestOutcome,
  type TokenUsage,
} from "./hearth-metrics.ts";
export { NO_CLASS, pathnameOf, requestClass } from "./request-class.ts";
