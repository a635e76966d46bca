/**
 * Spans of a fixed shape for the two spans every request makes (its HTTP request, its agent event):
 * their attributes are plain fields, made into an attributes object only when something reads them
 * as one, and the span itself is what the store encodes when it ends — no record, no attributes
 * object, no span context object on the hot path. Anything beyond the fixed shape (code calling
 * `trace.getActiveSpan().setAttribute(…)`, an exception, a status) turns the span into a
 * {@link HearthSpan} holding the same ids, times and attributes, which records it from then on.
 */
import {
  SpanKind,
  TraceFlags,
  type AttributeValue,
  type Exception,
  type Link,
  type Span,
  type SpanAttributes,
  type SpanContext,
  type SpanStatus,
  type TimeInput,
} from "@opentelemetry/api";
import { cutText } from "../cut-text.ts";
import { pathnameOf } from "../../web/url-path.ts";
import { newSpanId, newTraceId } from "./ids.ts";
import * as sc from "./semconv.ts";
import { HearthSpan } from "./span.ts";
import { SPAN_LIMITS, type SpanKindName, type SpanRecord, type SpanStatusRecord } from "./span-record.ts";
import { nowMs, toMs } from "./time.ts";

/** Where fixed spans go when they end: as they are, or (turned into a HearthSpan) as a record. */
export interface FixedSpanEnds {
  fixed(span: FixedSpan): void;
  record(record: SpanRecord): void;
}

/** Takes a span's attributes one by one (a record's object being filled). */
export type AttributeSink = (key: string, value: AttributeValue) => void;

/**
 * How a fixed span writes its fields into a stored record (span-codec.ts): only the values, in its
 * shape's order — the keys are the shape's. `repeating` values go through the codec's table of
 * repeated strings; `cache` names the field, so the codec can remember the field's last value.
 */
export interface FixedWriter {
  u8(value: number): void;
  u16(value: number): void;
  text(value: string): void;
  repeating(value: string, cache: number): void;
}

/** Reads back what a {@link FixedWriter} wrote, in the same order. */
export interface FixedReader {
  u8(): number;
  u16(): number;
  text(): string;
  /** A value written with `repeating`. */
  repeating(): string;
}

/** The shapes of fixed spans, as a stored record names them. */
export const FIXED_HTTP = 1;
export const FIXED_EVENT = 2;
/** Distinct `cache` numbers the shapes use (see {@link FixedWriter}). */
export const FIXED_CACHES = 5;

/** The parent of a new fixed span: another fixed span, a span context, or none (a new trace). */
export type FixedParent = FixedSpan | SpanContext | undefined;

const UNSET: SpanStatusRecord = Object.freeze({ code: 0 });
const NONE: readonly never[] = Object.freeze([]);
const KIND_NAMES: readonly SpanKindName[] = ["internal", "server", "client", "producer", "consumer"];

export abstract class FixedSpan implements Span {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  /** `SpanKind`'s number (also the codec's kind code). */
  readonly spanKind: SpanKind;
  readonly startedAt: number;
  endedAt = 0;
  readonly #ends: FixedSpanEnds;
  #context: SpanContext | undefined;
  /** The span that records this one once it left the fixed shape. */
  #full: HearthSpan | undefined;
  #ended = false;

  constructor(parent: FixedParent, name: string, kind: SpanKind, ends: FixedSpanEnds) {
    if (parent === undefined) this.traceId = newTraceId();
    else this.traceId = parent.traceId;
    this.spanId = newSpanId();
    this.parentSpanId = parent?.spanId;
    this.name = name;
    this.spanKind = kind;
    this.#ends = ends;
    this.startedAt = nowMs();
  }

  /** Writes the span's attributes to `sink`, in the order they were set. */
  abstract attributesTo(sink: AttributeSink): void;

  /** Which shape the span is ({@link FIXED_HTTP}, {@link FIXED_EVENT}). */
  abstract readonly shape: number;

  /** Writes the span's attributes as its shape's values (read back by {@link readFixedAttributes}). */
  abstract writeFields(out: FixedWriter): void;

  /** The span's kind as records name it. */
  get kind(): SpanKindName {
    return KIND_NAMES[this.spanKind] ?? "internal";
  }

  /** The finished span as a plain record (for listeners other than the store, and the file). */
  toRecord(): SpanRecord {
    return {
      traceId: this.traceId,
      spanId: this.spanId,
      parentSpanId: this.parentSpanId,
      name: this.name,
      kind: this.kind,
      startedAt: this.startedAt,
      endedAt: this.endedAt,
      status: UNSET,
      attributes: this.#attributeObject(),
      events: NONE,
      links: NONE,
      dropped: undefined,
      droppedEvents: undefined,
      droppedLinks: undefined,
    };
  }

  spanContext(): SpanContext {
    return (this.#context ??= { traceId: this.traceId, spanId: this.spanId, traceFlags: TraceFlags.SAMPLED });
  }

  setAttribute(key: string, value: AttributeValue): this {
    if (!this.#ended) this.#promoted().setAttribute(key, value);
    return this;
  }

  setAttributes(attributes: SpanAttributes): this {
    if (!this.#ended) this.#promoted().setAttributes(attributes);
    return this;
  }

  addEvent(name: string, attributesOrStartTime?: SpanAttributes | TimeInput, startTime?: TimeInput): this {
    if (!this.#ended) this.#promoted().addEvent(name, attributesOrStartTime, startTime);
    return this;
  }

  addLink(link: Link): this {
    if (!this.#ended) this.#promoted().addLink(link);
    return this;
  }

  addLinks(links: Link[]): this {
    if (!this.#ended) this.#promoted().addLinks(links);
    return this;
  }

  setStatus(status: SpanStatus): this {
    if (!this.#ended) this.#promoted().setStatus(status);
    return this;
  }

  updateName(name: string): this {
    if (!this.#ended) this.#promoted().updateName(name);
    return this;
  }

  isRecording(): boolean {
    return !this.#ended;
  }

  recordException(exception: Exception, time?: TimeInput): void {
    if (!this.#ended) this.#promoted().recordException(exception, time);
  }

  end(endTime?: TimeInput): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#full !== undefined) return this.#full.end(endTime);
    this.endedAt = Math.max(this.startedAt, toMs(endTime));
    this.#ends.fixed(this);
  }

  /** The HearthSpan recording this span once it left the fixed shape (undefined while it has not). */
  protected get full(): HearthSpan | undefined {
    return this.#full;
  }

  #promoted(): HearthSpan {
    return (this.#full ??= new HearthSpan({
      context: this.spanContext(),
      parentSpanId: this.parentSpanId,
      name: this.name,
      kind: this.spanKind,
      startTime: this.startedAt,
      attributes: this.#attributeObject(),
      attributesOwned: true,
      onEnd: this.#ends.record,
    }));
  }

  #attributeObject(): Record<string, AttributeValue> {
    const attributes: Record<string, AttributeValue> = {};
    this.attributesTo((key, value) => {
      attributes[key] = value;
    });
    return attributes;
  }
}

/** A string attribute within the per-span limit. */
function limited(value: string): string {
  return value.length > SPAN_LIMITS.maxAttributeLength ? cutText(value, SPAN_LIMITS.maxAttributeLength) : value;
}

/** An HTTP request's SERVER span: method, path, scheme, user agent, request id, response status. */
export class HttpSpan extends FixedSpan {
  readonly #url: string;
  readonly #userAgent: string | null;
  /** The request's id: the client's, or the span's own id. */
  readonly requestId: string;
  #status = 0;

  constructor(parent: FixedParent, method: string, url: string, userAgent: string | null, requestId: string | undefined, ends: FixedSpanEnds) {
    super(parent, method, SpanKind.SERVER, ends);
    this.#url = url;
    this.#userAgent = userAgent;
    this.requestId = requestId ?? this.spanId;
  }

  /** Records the response's status (a 5xx marks the span failed). */
  respond(status: number): void {
    if (!this.isRecording()) return;
    const full = this.full;
    if (full === undefined) this.#status = status;
    else full.setAttribute(sc.HTTP_RESPONSE_STATUS_CODE, status);
    markServerError(this, status);
  }

  readonly shape = FIXED_HTTP;

  attributesTo(sink: AttributeSink): void {
    const url = this.#url;
    sink(sc.HTTP_REQUEST_METHOD, limited(this.name));
    sink(sc.URL_PATH, limited(pathnameOf(url)));
    sink(sc.URL_SCHEME, url.startsWith("https:") ? "https" : "http");
    if (this.#userAgent) sink(sc.USER_AGENT_ORIGINAL, limited(this.#userAgent));
    sink(sc.HEARTH_REQUEST_ID, limited(this.requestId));
    if (this.#status !== 0) sink(sc.HTTP_RESPONSE_STATUS_CODE, this.#status);
  }

  writeFields(out: FixedWriter): void {
    const url = this.#url;
    const ownId = this.requestId === this.spanId;
    out.u8((url.startsWith("https:") ? HTTPS : 0) | (this.#userAgent ? USER_AGENT : 0) | (ownId ? OWN_ID : 0) | (this.#status !== 0 ? STATUS : 0));
    // The method is the span's name, which the record holds already.
    out.repeating(limited(pathOf(url)), 0);
    if (this.#userAgent) out.repeating(limited(this.#userAgent), 1);
    if (!ownId) out.text(limited(this.requestId));
    if (this.#status !== 0) out.u16(this.#status);
  }
}

let lastUrl = "";
let lastPath = "/";

/** `pathnameOf(url)`, remembered for the last URL: a busy agent's requests repeat it (and the codec then meets the same string again). */
function pathOf(url: string): string {
  if (url !== lastUrl) {
    lastPath = pathnameOf(url);
    lastUrl = url;
  }
  return lastPath;
}

/** Bits of an HTTP span's first byte: which of its fields follow. */
const HTTPS = 1;
const USER_AGENT = 2;
/** The request id is the span's own id (not written again). */
const OWN_ID = 4;
const STATUS = 8;

function readHttp(name: string, spanId: string, read: FixedReader): Record<string, AttributeValue> {
  const bits = read.u8();
  const attributes: Record<string, AttributeValue> = {};
  attributes[sc.HTTP_REQUEST_METHOD] = limited(name);
  attributes[sc.URL_PATH] = read.repeating();
  attributes[sc.URL_SCHEME] = bits & HTTPS ? "https" : "http";
  if (bits & USER_AGENT) attributes[sc.USER_AGENT_ORIGINAL] = read.repeating();
  attributes[sc.HEARTH_REQUEST_ID] = bits & OWN_ID ? spanId : read.text();
  if (bits & STATUS) attributes[sc.HTTP_RESPONSE_STATUS_CODE] = read.u16();
  return attributes;
}

/** An agent event's INTERNAL span: the agent's class and name, and the event. */
export class EventSpan extends FixedSpan {
  readonly #className: string;
  readonly #agentName: string;
  readonly #event: string;

  constructor(parent: FixedParent, name: string, className: string, agentName: string, event: string, ends: FixedSpanEnds) {
    super(parent, name, SpanKind.INTERNAL, ends);
    this.#className = className;
    this.#agentName = agentName;
    this.#event = event;
  }

  readonly shape = FIXED_EVENT;

  attributesTo(sink: AttributeSink): void {
    sink(sc.HEARTH_AGENT_CLASS, limited(this.#className));
    sink(sc.HEARTH_AGENT_NAME, limited(this.#agentName));
    sink(sc.HEARTH_EVENT, limited(this.#event));
  }

  writeFields(out: FixedWriter): void {
    out.repeating(limited(this.#className), 2);
    out.repeating(limited(this.#agentName), 3);
    out.repeating(limited(this.#event), 4);
  }
}

function readEvent(read: FixedReader): Record<string, AttributeValue> {
  const attributes: Record<string, AttributeValue> = {};
  attributes[sc.HEARTH_AGENT_CLASS] = read.repeating();
  attributes[sc.HEARTH_AGENT_NAME] = read.repeating();
  attributes[sc.HEARTH_EVENT] = read.repeating();
  return attributes;
}

/** The attributes of a stored fixed span of `shape` (what its `attributesTo` gives). */
export function readFixedAttributes(shape: number, name: string, spanId: string, read: FixedReader): Record<string, AttributeValue> {
  return shape === FIXED_HTTP ? readHttp(name, spanId, read) : readEvent(read);
}

/** A 5xx response marks its request's span failed, with the status as `error.type`. */
export function markServerError(span: Pick<Span, "setAttribute" | "setStatus">, status: number): void {
  if (status < 500) return;
  span.setAttribute(sc.ERROR_TYPE, String(status));
  span.setStatus({ code: 2 });
}
