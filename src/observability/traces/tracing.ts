import type { Telemetry } from "ai";
export { tracesDisabledByEnv } from "./env.ts";
import { HearthAiTelemetry, type CostOf } from "./ai-telemetry.ts";
import { otlpConfigFromEnv } from "./otlp-config.ts";
import { OtlpTraceExporter, type OtlpExporterOptions } from "./otlp-exporter.ts";
import { SpanStore, type SpanStoreOptions } from "./store.ts";
import { forwardsToApplication, onFinishedSpan, onSpanEnd, startTracer, stopTracer, type TracerSettings } from "./tracer.ts";

/** How tracing runs. */
export interface TracingOptions extends TracerSettings {
  /** The local store's limits and persistence, or a store to share. Default: in memory, default limits. */
  store?: SpanStoreOptions | SpanStore;
  /**
   * OTLP/HTTP JSON export. Default: from `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` /
   * `OTEL_EXPORTER_OTLP_ENDPOINT` (and `…_HEADERS`, `…_TIMEOUT`, `OTEL_SERVICE_NAME`) when set;
   * `false` never exports.
   */
  otlp?: OtlpExporterOptions | false;
  /** Where the OTEL_* variables are read. Default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Prices model calls for `hearth.cost.usd` on `chat` spans (e.g. `costOfTokens`). Default: no cost. */
  costOf?: CostOf;
  /** Trace the AI SDK's calls (registers Hearth's `Telemetry` integration globally). Default true. */
  aiSdk?: boolean;
}

/** Tracing while on: its store and exporter. */
export interface Tracing {
  readonly store: SpanStore;
  readonly exporter: OtlpTraceExporter | undefined;
  /** True when spans also go to the application's registered OpenTelemetry SDK. */
  readonly forwardsToApplication: boolean;
  /** Flushes the exporter (for at most its `shutdownTimeoutMs`) and the store's file, and turns tracing off. */
  close(): Promise<void>;
}

let current: { tracing: Tracing; off: Array<() => void>; ownsStore: boolean } | undefined;

/**
 * Turns tracing on for the process: Hearth's spans go to a local store (always), to an OTLP endpoint
 * (when configured), and to the application's OpenTelemetry SDK (when it registered one before this
 * call). Calling it again replaces the previous setup.
 * @example
 * const tracing = enableTracing({ store: { persist: { path: ".hearth/spans.sqlite" } } });
 * tracing.store.listTraces({ error: true });
 * await tracing.close();
 */
export function enableTracing(options: TracingOptions = {}): Tracing {
  // Settings are checked before anything is opened or replaced: a bad one leaves tracing as it was.
  const ratio = options.sampleRatio ?? 1;
  if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`traces sampleRatio must be between 0 and 1, got ${ratio}`);
  let exporter: OtlpTraceExporter | undefined;
  if (options.otlp !== false) {
    const fromEnv = options.otlp === undefined ? otlpConfigFromEnv(options.env ?? process.env) : undefined;
    if (options.otlp) exporter = new OtlpTraceExporter(options.otlp);
    else if (fromEnv) {
      const { warnings, ...settings } = fromEnv;
      exporter = new OtlpTraceExporter(settings);
      for (const warning of warnings) warnOnce(warning);
    }
  }
  const ownsStore = !(options.store instanceof SpanStore);
  const store = options.store instanceof SpanStore ? options.store : new SpanStore(options.store);
  if (current) void disableTracing();
  startTracer(options);
  const off = [onFinishedSpan((span) => store.add(span))];
  if (exporter) {
    const sending = exporter;
    off.push(onSpanEnd((span) => sending.export(span)));
  }
  if (options.aiSdk !== false) off.push(registerAiTelemetry(new HearthAiTelemetry(options.costOf)));
  const tracing: Tracing = {
    store,
    exporter,
    forwardsToApplication: forwardsToApplication(),
    close: () => (current?.tracing === tracing ? disableTracing() : Promise.resolve()),
  };
  current = { tracing, off, ownsStore };
  return tracing;
}

/** Turns tracing off: hooks do nothing again; the exporter is flushed and the store's file closed (when tracing made the store). */
export async function disableTracing(): Promise<void> {
  const was = current;
  if (!was) return;
  current = undefined;
  stopTracer();
  for (const off of was.off) off();
  try {
    // Bounded by the exporter's shutdown deadline: a collector that is down cannot hold the close up.
    await was.tracing.exporter?.shutdown();
  } finally {
    if (was.ownsStore) was.tracing.store.close();
    else was.tracing.store.flush();
  }
}

const warned = new Set<string>();

/** A setting's warning, printed once per process however often tracing is turned on. */
function warnOnce(message: string): void {
  if (warned.has(message)) return;
  warned.add(message);
  console.warn(message);
}

/** The tracing setup while on (the inspector reads `store` from it). */
export function currentTracing(): Tracing | undefined {
  return current?.tracing;
}


/**
 * Adds an integration to the AI SDK's global registry (what `registerTelemetry` from "ai" does);
 * returns a function that takes it out again, which `registerTelemetry` cannot.
 */
function registerAiTelemetry(integration: Telemetry): () => void {
  const registry = (globalThis.AI_SDK_TELEMETRY_INTEGRATIONS ??= []);
  registry.push(integration);
  return () => {
    const list = globalThis.AI_SDK_TELEMETRY_INTEGRATIONS;
    const at = list?.indexOf(integration) ?? -1;
    if (at >= 0) list!.splice(at, 1);
  };
}
