import {
  SpanKind,
  SpanStatusCode,
  type Attributes,
  type AttributeValue,
  type Exception,
  type Link,
  type Span,
  type SpanAttributes,
  type SpanContext,
  type SpanStatus,
  type TimeInput,
} from "@opentelemetry/api";
import { EXCEPTION_EVENT, EXCEPTION_MESSAGE, EXCEPTION_STACKTRACE, EXCEPTION_TYPE } from "./semconv.ts";
import { SPAN_LIMITS, type SpanEventRecord, type SpanKindName, type SpanLinkRecord, type SpanRecord, type SpanStatusRecord } from "./span-record.ts";
import { toMs } from "./time.ts";
import { cutText } from "../cut-text.ts";

const KIND_NAMES: Record<SpanKind, SpanKindName> = {
  [SpanKind.INTERNAL]: "internal",
  [SpanKind.SERVER]: "server",
  [SpanKind.CLIENT]: "client",
  [SpanKind.PRODUCER]: "producer",
  [SpanKind.CONSUMER]: "consumer",
};

/** What a span needs when it starts. */
export interface HearthSpanInit {
  readonly context: SpanContext;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  readonly kind: SpanKind;
  readonly startTime?: TimeInput;
  readonly attributes?: Attributes;
  /** `attributes` was made for this span alone: the span keeps that object instead of copying it. */
  readonly attributesOwned?: boolean;
  readonly links?: readonly Link[];
  /** The application's own span for the same operation (its SDK is registered): every call goes to it too. */
  readonly delegate?: Span;
  /** Called once, with the finished span. */
  readonly onEnd: (record: SpanRecord) => void;
}

/**
 * A span Hearth records for its local store (and forwards to the application's span, when its
 * OpenTelemetry SDK is registered). Implements `@opentelemetry/api`'s `Span`, so code that finds it
 * through `trace.getActiveSpan()` can add attributes and events as with any other span.
 */
export class HearthSpan implements Span {
  readonly #context: SpanContext;
  readonly #init: HearthSpanInit;
  #name: string;
  readonly #start: number;
  readonly #attributes: Record<string, AttributeValue>;
  #attributeCount = 0;
  #events: SpanEventRecord[] | undefined;
  #links: SpanLinkRecord[] | undefined;
  #status: SpanStatusRecord = { code: 0 };
  #droppedAttributes = 0;
  #droppedEvents = 0;
  #droppedLinks = 0;
  #ended = false;

  constructor(init: HearthSpanInit) {
    this.#init = init;
    this.#context = init.context;
    this.#name = init.name;
    this.#start = toMs(init.startTime);
    const given = init.attributes;
    if (given !== undefined && init.attributesOwned === true && this.#adoptable(given)) {
      this.#attributes = given as Record<string, AttributeValue>;
    } else {
      this.#attributes = {};
      if (given) this.#put(given);
    }
    if (init.links) for (const link of init.links) this.#link(link);
  }

  spanContext(): SpanContext {
    return this.#context;
  }

  /** The parent's span id, when the span has a parent. */
  get parentSpanId(): string | undefined {
    return this.#init.parentSpanId;
  }

  setAttribute(key: string, value: AttributeValue): this {
    if (this.#ended) return this;
    this.#set(key, value);
    this.#init.delegate?.setAttribute(key, value);
    return this;
  }

  setAttributes(attributes: SpanAttributes): this {
    if (this.#ended) return this;
    this.#put(attributes);
    this.#init.delegate?.setAttributes(attributes);
    return this;
  }

  addEvent(name: string, attributesOrStartTime?: SpanAttributes | TimeInput, startTime?: TimeInput): this {
    if (this.#ended) return this;
    this.#init.delegate?.addEvent(name, attributesOrStartTime, startTime);
    const timed = isTimeInput(attributesOrStartTime);
    const time = toMs(timed ? attributesOrStartTime : startTime);
    const attributes = timed || attributesOrStartTime === undefined ? undefined : clean(attributesOrStartTime);
    const events = (this.#events ??= []);
    if (events.length >= SPAN_LIMITS.maxEvents) this.#droppedEvents++;
    else events.push(attributes ? { name, time, attributes } : { name, time });
    return this;
  }

  addLink(link: Link): this {
    if (this.#ended) return this;
    this.#init.delegate?.addLink(link);
    this.#link(link);
    return this;
  }

  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link);
    return this;
  }

  setStatus(status: SpanStatus): this {
    if (this.#ended) return this;
    this.#init.delegate?.setStatus(status);
    // OK is final; ERROR may only be replaced by OK (the specification's rule).
    if (this.#status.code === SpanStatusCode.OK) return this;
    if (status.code === SpanStatusCode.UNSET) return this;
    this.#status = status.code === SpanStatusCode.ERROR && status.message ? { code: 2, message: status.message } : { code: status.code as 1 | 2 };
    return this;
  }

  updateName(name: string): this {
    if (this.#ended) return this;
    this.#init.delegate?.updateName(name);
    this.#name = name;
    return this;
  }

  isRecording(): boolean {
    return !this.#ended;
  }

  recordException(exception: Exception, time?: TimeInput): void {
    if (this.#ended) return;
    this.#init.delegate?.recordException(exception, time);
    const attributes: Record<string, AttributeValue> = {};
    if (typeof exception === "string") attributes[EXCEPTION_MESSAGE] = exception;
    else {
      const type = exception.name ?? (exception.code !== undefined ? String(exception.code) : undefined);
      if (type) attributes[EXCEPTION_TYPE] = type;
      if (exception.message) attributes[EXCEPTION_MESSAGE] = exception.message;
      if (exception.stack) attributes[EXCEPTION_STACKTRACE] = exception.stack;
    }
    const events = (this.#events ??= []);
    if (events.length >= SPAN_LIMITS.maxEvents) this.#droppedEvents++;
    else events.push({ name: EXCEPTION_EVENT, time: toMs(time), attributes: clean(attributes) });
  }

  end(endTime?: TimeInput): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#init.delegate?.end(endTime);
    // One object literal of one shape (no spreads): a span ends on every request's hot path.
    const record: SpanRecord = {
      traceId: this.#context.traceId,
      spanId: this.#context.spanId,
      parentSpanId: this.#init.parentSpanId,
      name: this.#name,
      kind: KIND_NAMES[this.#init.kind] ?? "internal",
      startedAt: this.#start,
      endedAt: Math.max(this.#start, toMs(endTime)),
      status: this.#status,
      attributes: this.#attributes,
      events: this.#events ?? NONE,
      links: this.#links ?? NONE,
      dropped: this.#droppedAttributes || undefined,
      droppedEvents: this.#droppedEvents || undefined,
      droppedLinks: this.#droppedLinks || undefined,
    };
    this.#init.onEnd(record);
  }

  /**
   * Whether a hook's own attributes object can be kept as it is (within the limits once long strings
   * are cut in place, no undefined values); counts them when it can.
   */
  #adoptable(attributes: Attributes): boolean {
    let count = 0;
    for (const key in attributes) {
      const value = attributes[key];
      if (value === undefined) return false;
      if (typeof value === "string" && value.length > SPAN_LIMITS.maxAttributeLength) attributes[key] = limitValue(value);
      count++;
    }
    if (count > SPAN_LIMITS.maxAttributes) return false;
    this.#attributeCount = count;
    return true;
  }

  #put(attributes: Attributes): void {
    for (const key in attributes) {
      const value = attributes[key];
      if (value !== undefined) this.#set(key, value);
    }
  }

  #set(key: string, value: AttributeValue): void {
    if (!(key in this.#attributes)) {
      if (this.#attributeCount >= SPAN_LIMITS.maxAttributes) {
        this.#droppedAttributes++;
        return;
      }
      this.#attributeCount++;
    }
    this.#attributes[key] = limitValue(value);
  }

  #link(link: Link): void {
    const links = (this.#links ??= []);
    if (links.length >= SPAN_LIMITS.maxLinks) {
      this.#droppedLinks++;
      return;
    }
    const { traceId, spanId } = link.context;
    links.push(link.attributes ? { traceId, spanId, attributes: clean(link.attributes) } : { traceId, spanId });
  }
}

const NONE: readonly never[] = Object.freeze([]);

function limitValue(value: AttributeValue): AttributeValue {
  return typeof value === "string" ? cutText(value, SPAN_LIMITS.maxAttributeLength) : value;
}

function clean(attributes: Attributes): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const key in attributes) {
    const value = attributes[key];
    if (value !== undefined) out[key] = limitValue(value);
  }
  return out;
}

function isTimeInput(value: unknown): value is TimeInput {
  return typeof value === "number" || value instanceof Date || (Array.isArray(value) && value.length === 2 && typeof value[0] === "number");
}
