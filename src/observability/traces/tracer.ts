import {
  ProxyTracerProvider,
  SpanKind,
  SpanStatusCode,
  trace,
  TraceFlags,
  type Attributes,
  type Context,
  type Exception,
  type Link,
  type Span,
  type SpanContext,
  type Tracer,
} from "@opentelemetry/api";
import { readLogContext, setTraceIdSource, type TracedIds } from "../logs/context.ts";
import { compileRedactor } from "../logs/redact.ts";
import { activeContext, carryTraceContext, eventToCarry, globalContextManagerWorks, releaseEventContext, REQUEST_ID, useGlobalContext, withContext } from "./context.ts";
import { EventSpan, FixedSpan, HttpSpan, type FixedParent, type FixedSpanEnds } from "./fixed-span.ts";
import { newSpanId, newTraceId } from "./ids.ts";
import { ERROR_TYPE } from "./semconv.ts";
import { HearthSpan } from "./span.ts";
import type { SpanRecord } from "./span-record.ts";

export { REQUEST_ID } from "./context.ts";

/** Called with every span Hearth records, when it ends. */
export type SpanListener = (span: SpanRecord) => void;

/** Called with every span Hearth records, when it ends: a fixed span as it is (see fixed-span.ts). */
export type FinishedSpanListener = (span: SpanRecord | FixedSpan) => void;

/** How the tracer runs while on. */
export interface TracerSettings {
  /**
   * Fraction of new traces recorded, 0 to 1 (default 1). Spans below a recorded (or not recorded)
   * span follow its decision; 0 records nothing while still passing trace context on.
   */
  readonly sampleRatio?: number;
  /**
   * Secret values (say, the project's secrets) taken out of the error messages and stacks spans record,
   * as the logs take them out of their lines. Values shaped like credentials (`Bearer …`, `sk-…`,
   * `ghp_…`, JWTs) are taken out always.
   */
  readonly secrets?: readonly string[];
}

interface TracerState {
  readonly sampleRatio: number;
  /** Replaces secrets in a text recorded on a span (the log redactor's rules). */
  readonly scrub: (text: string) => string;
  /** The application's tracer, when its OpenTelemetry SDK is registered globally. */
  readonly appTracer: Tracer | undefined;
}

/** Undefined while tracing is off: every hook checks this one variable and does nothing else. */
let state: TracerState | undefined;
const listeners: SpanListener[] = [];
const finishedListeners: FinishedSpanListener[] = [];
const NOOP_PROVIDER = new ProxyTracerProvider().getDelegate();
const INSTRUMENTATION = "hearth";

/** True while tracing is on. */
export function tracingOn(): boolean {
  return state !== undefined;
}

/**
 * Turns span recording on. Detects the application's OpenTelemetry SDK (a global tracer provider,
 * and a global context manager) at this moment: register it before calling this.
 */
export function startTracer(settings: TracerSettings = {}): void {
  const ratio = settings.sampleRatio ?? 1;
  if (!(ratio >= 0 && ratio <= 1)) throw new RangeError(`traces sampleRatio must be between 0 and 1, got ${ratio}`);
  const provider = trace.getTracerProvider();
  const delegate = provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider;
  const appTracer = delegate === NOOP_PROVIDER ? undefined : provider.getTracer(INSTRUMENTATION);
  useGlobalContext(globalContextManagerWorks());
  carryTraceContext(true);
  state = { sampleRatio: ratio, appTracer, scrub: compileRedactor({ secrets: settings.secrets ?? [] }).scrub };
  setTraceIdSource(activeIds);
  readLogContext(); // spans carry the request id; log lines carry the span
}

/** Turns span recording off; hooks go back to doing nothing. */
export function stopTracer(): void {
  state = undefined;
  carryTraceContext(false);
  useGlobalContext(false);
  setTraceIdSource(undefined);
}

/** True when spans also go to the application's registered OpenTelemetry SDK. */
export function forwardsToApplication(): boolean {
  return state?.appTracer !== undefined;
}

/**
 * Calls `listener` with every span Hearth records, as it ends (for metrics, live streams). Returns a
 * function that removes it. Listener errors are caught and logged.
 * @example const off = onSpanEnd((span) => { if (span.attributes["gen_ai.operation.name"] === "chat") count(span); });
 */
export function onSpanEnd(listener: SpanListener): () => void {
  listeners.push(listener);
  return () => {
    const at = listeners.indexOf(listener);
    if (at >= 0) listeners.splice(at, 1);
  };
}

/**
 * {@link onSpanEnd} for a listener that can take a fixed span as it is (the local store encodes one
 * without a record); it reads the span's fields, or `toRecord()` when it needs a record.
 */
export function onFinishedSpan(listener: FinishedSpanListener): () => void {
  finishedListeners.push(listener);
  return () => {
    const at = finishedListeners.indexOf(listener);
    if (at >= 0) finishedListeners.splice(at, 1);
  };
}

function ended(record: SpanRecord): void {
  for (const listener of finishedListeners) tell(listener, record);
  for (const listener of listeners) tell(listener, record);
}

/** A fixed span ended: its record is made only when a listener needs one. */
function endedFixed(span: FixedSpan): void {
  for (const listener of finishedListeners) tell(listener, span);
  if (listeners.length === 0) return;
  const record = span.toRecord();
  for (const listener of listeners) tell(listener, record);
}

function tell<S>(listener: (span: S) => void, span: S): void {
  try {
    listener(span);
  } catch (error) {
    console.error("[hearth] span listener failed:", error);
  }
}

const FIXED_ENDS: FixedSpanEnds = { fixed: endedFixed, record: ended };

/** What a span starts with. */
export interface StartSpanOptions {
  readonly kind?: SpanKind;
  readonly attributes?: Attributes;
  /** `attributes` was made for this span alone (a hook's own object): the span keeps it instead of a copy. */
  readonly attributesOwned?: boolean;
  readonly links?: Link[];
}

/**
 * Starts a span under `parent` (default: the active context). Returns a non-recording span carrying
 * the trace context when tracing is off or the trace is not sampled.
 * @example const span = startSpan("chat demo", { kind: SpanKind.CLIENT }); try { … } finally { span.end(); }
 */
export function startSpan(name: string, options: StartSpanOptions = {}, parent: Context = activeContext()): Span {
  const current = state;
  const parentSpan = trace.getSpan(parent);
  const parentContext = parentContextOf(parentSpan);
  const record = current !== undefined && sampled(current, parentContext, parentSpan);
  const kind = options.kind ?? SpanKind.INTERNAL;
  const delegate = current?.appTracer?.startSpan(name, { kind, attributes: options.attributes, links: options.links }, parent);
  if (!record) return delegate ?? unrecorded(parentContext);
  const context = delegate?.spanContext() ?? {
    traceId: parentContext?.traceId ?? newTraceId(),
    spanId: newSpanId(),
    traceFlags: TraceFlags.SAMPLED,
  };
  return new HearthSpan({
    context,
    parentSpanId: parentContext?.spanId,
    name,
    kind,
    attributes: options.attributes,
    attributesOwned: options.attributesOwned,
    links: options.links,
    delegate,
    onEnd: ended,
  });
}

/** A span that records nothing but carries the trace on (under `parent`, else in a new trace). */
function unrecorded(parent: SpanContext | undefined): Span {
  return trace.wrapSpanContext({ traceId: parent?.traceId ?? newTraceId(), spanId: newSpanId(), traceFlags: TraceFlags.NONE });
}

/**
 * True while the request and event hooks may make fixed spans: tracing is on and no application SDK
 * takes spans too (spans forwarded to it stay HearthSpans, each call mirrored on the SDK's span).
 */
export function fixedSpansOn(): boolean {
  return state !== undefined && state.appTracer === undefined;
}

/**
 * An HTTP request's span under `parent` (see fixed-span.ts), or a span that records nothing when the
 * trace is not sampled. Only while {@link fixedSpansOn}.
 */
export function startHttpSpan(parent: Context, method: string, url: string, userAgent: string | null, requestId: string | undefined): HttpSpan | Span {
  const from = fixedParent(parent);
  return from === null ? unrecordedUnder(parent) : new HttpSpan(from, method, url, userAgent, requestId, FIXED_ENDS);
}

/** An agent event's span under `parent`, as {@link startHttpSpan}. */
export function startEventSpan(parent: Context, name: string, className: string, agentName: string, event: string): EventSpan | Span {
  const from = fixedParent(parent);
  return from === null ? unrecordedUnder(parent) : new EventSpan(from, name, className, agentName, event, FIXED_ENDS);
}

function unrecordedUnder(parent: Context): Span {
  return unrecorded(parentContextOf(trace.getSpan(parent)));
}

/** The parent a fixed span under `parent` takes (undefined: a new trace), or null when {@link startSpan} would not record it. */
function fixedParent(parent: Context): FixedParent | null {
  const parentSpan = trace.getSpan(parent);
  if (parentSpan instanceof FixedSpan) return parentSpan; // recorded, and no span context to make
  const parentContext = parentContextOf(parentSpan);
  return sampled(state!, parentContext, parentSpan) ? parentContext : null;
}

/**
 * `parentSpan`'s context when it can be a parent. A Hearth span's ids are valid by construction: the
 * check (two regular expressions) is for others'.
 */
function parentContextOf(parentSpan: Span | undefined): SpanContext | undefined {
  if (parentSpan === undefined) return undefined;
  const context = parentSpan.spanContext();
  return parentSpan instanceof HearthSpan || parentSpan instanceof FixedSpan || trace.isSpanContextValid(context) ? context : undefined;
}

/** Hearth's own local decision: a Hearth parent's, else a local parent's sampled flag, else the ratio. */
function sampled(current: TracerState, parent: { traceFlags: number; isRemote?: boolean } | undefined, parentSpan: Span | undefined): boolean {
  if (parentSpan instanceof HearthSpan || parentSpan instanceof FixedSpan) return true;
  if (parent && !parent.isRemote) return (parent.traceFlags & TraceFlags.SAMPLED) !== 0 || current.appTracer !== undefined;
  return current.sampleRatio >= 1 || (current.sampleRatio > 0 && Math.random() < current.sampleRatio);
}

/**
 * Marks `span` failed with `error`: status ERROR, an `exception` event and `error.type`. Secrets in the
 * message and stack are replaced first (see {@link TracerSettings.secrets}): spans are kept in a file
 * and sent to a collector, as logs are.
 */
export function recordError(span: Span, error: unknown): void {
  const err = error instanceof Error ? error : new Error(String(error));
  const scrub = state?.scrub ?? String;
  const name = err.name || "Error";
  const message = scrub(err.message);
  const code = (err as { code?: unknown }).code;
  const exception: Exception = { name, message };
  if (err.stack) exception.stack = scrub(err.stack);
  if (typeof code === "string" || typeof code === "number") exception.code = code;
  span.recordException(exception);
  span.setAttribute(ERROR_TYPE, name);
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/**
 * Runs `fn` inside a new span (child of the active one) and ends it when `fn` returns or its promise
 * settles; a throw or rejection marks the span failed. When tracing is off, just calls `fn`.
 * @example await withSpan("workflow step charge", { kind: SpanKind.INTERNAL }, () => charge());
 */
export function withSpan<T>(name: string, options: StartSpanOptions, fn: (span: Span) => T, parent?: Context): T {
  if (state === undefined) return fn(NOT_RECORDING);
  const base = parent ?? activeContext();
  const span = startSpan(name, options, base);
  let result: T;
  try {
    result = withContext(trace.setSpan(base, span), () => fn(span));
  } catch (error) {
    return failed(span, error);
  }
  return endWhenSettled(span, result);
}

/**
 * {@link withSpan} for the outermost span of an agent event (its request, RPC, message, schedule run):
 * the span's context is put on the event rather than entered (see `eventToCarry`), and taken off
 * when the span ends.
 */
export function withEventSpan<T>(name: string, options: StartSpanOptions, fn: () => T, parent?: Context): T {
  if (state === undefined) return fn();
  const base = parent ?? activeContext();
  return runEventSpan(startSpan(name, options, base), base, fn);
}

/** Runs `fn` in `span` (started under `base`) as {@link withEventSpan} does. */
export function runEventSpan<T>(span: Span, base: Context, fn: () => T): T {
  const ctx = trace.setSpan(base, span);
  const event = eventToCarry();
  let result: T;
  try {
    if (event === undefined) result = withContext(ctx, fn);
    else {
      event.own = ctx;
      result = fn();
    }
  } catch (error) {
    releaseEventContext(event, ctx);
    return failed(span, error);
  }
  if (!(result instanceof Promise)) {
    releaseEventContext(event, ctx);
    span.end();
    return result;
  }
  return result.then(
    (value: unknown) => {
      releaseEventContext(event, ctx);
      span.end();
      return value;
    },
    (error: unknown) => {
      releaseEventContext(event, ctx);
      return failed(span, error);
    },
  ) as T;
}

/** Ends `span` when `result` settles (at once when it is not a promise); a rejection marks it failed. */
function endWhenSettled<T>(span: Span, result: T): T {
  if (!(result instanceof Promise)) {
    span.end();
    return result;
  }
  return result.then(
    (value: unknown) => {
      span.end();
      return value;
    },
    (error: unknown) => failed(span, error),
  ) as T;
}

/** Marks `span` failed with `error`, ends it and throws `error` on. */
function failed(span: Span, error: unknown): never {
  recordError(span, error);
  span.end();
  throw error;
}

/** A span that records nothing: what hooks hand their function while tracing is off. */
export const NOT_RECORDING: Span = trace.wrapSpanContext({ traceId: "0".repeat(32), spanId: "0".repeat(16), traceFlags: TraceFlags.NONE });

/** The active span's ids and the request's, for log lines. */
function activeIds(): TracedIds | undefined {
  const context = activeContext();
  const span = trace.getSpan(context);
  if (!span) return undefined;
  const { traceId, spanId } = span.spanContext();
  const requestId = context.getValue(REQUEST_ID);
  return typeof requestId === "string" ? { traceId, spanId, requestId } : { traceId, spanId };
}

