/**
 * Traces: spans on `@opentelemetry/api` with the GenAI conventions, a local store for the inspector,
 * OTLP/HTTP JSON export, and the AI SDK's calls through its telemetry interface.
 * See docs/observability/traces.md.
 * @packageDocumentation
 */
export { enableTracing, disableTracing, currentTracing, tracesDisabledByEnv, type Tracing, type TracingOptions } from "./tracing.ts";
export { onSpanEnd, startSpan, withSpan, recordError, tracingOn, forwardsToApplication, type SpanListener, type StartSpanOptions, type TracerSettings } from "./tracer.ts";
export { SpanStore, DEFAULT_SPAN_STORE, type SpanStoreOptions, type SpanStoreStats, type TraceDetail } from "./store.ts";
export { DEFAULT_SPAN_RETENTION, type SpanRetention } from "./span-table.ts";
export { DEFAULT_TRACE_PAGE, MAX_TRACE_PAGE, type TracePage, type TraceQuery } from "./trace-query.ts";
export type { TraceSummary } from "./trace-summary.ts";
export { SPAN_LIMITS, type SpanRecord, type SpanEventRecord, type SpanLinkRecord, type SpanKindName, type SpanStatusRecord } from "./span-record.ts";
export { OtlpTraceExporter, DEFAULT_OTLP_EXPORTER, type OtlpExporterOptions, type OtlpExporterStats } from "./otlp-exporter.ts";
export { otlpConfigFromEnv, type OtlpConfig } from "./otlp-config.ts";
export { toOtlpJson } from "./otlp-json.ts";
export { HearthAiTelemetry, type CostOf } from "./ai-telemetry.ts";
export { chatSpanUsage, type ChatSpanUsage } from "./span-usage.ts";
export { parseTraceparent, formatTraceparent } from "./ids.ts";
export {
  traceHttpRequest,
  traceAgentEvent,
  traceInvokeAgent,
  captureTraceContext,
  runInTraceContext,
  currentTraceparent,
  traceFromParent,
  traceTeamStep,
} from "./hooks.ts";
export * as semconv from "./semconv.ts";
