/**
 * A finished span as bytes, and back. The memory store keeps spans this way (span-ring.ts): a span
 * kept as objects lives for a fraction of a second to a few seconds — long enough for the garbage
 * collector to copy it twice and then sweep it from the old generation, which on cheap requests cost
 * more than making the span. Bytes in one preallocated buffer cost it nothing.
 */
import type { AttributeValue } from "@opentelemetry/api";
import { FIXED_CACHES, FixedSpan, readFixedAttributes, type FixedReader, type FixedWriter } from "./fixed-span.ts";
import { writeIdBytes } from "./ids.ts";
import * as sc from "./semconv.ts";
import type { SpanEventRecord, SpanKindName, SpanLinkRecord, SpanRecord, SpanStatusRecord } from "./span-record.ts";

const KINDS: readonly SpanKindName[] = ["internal", "server", "client", "producer", "consumer"];
const KIND_CODES: Readonly<Record<SpanKindName, number>> = { internal: 0, server: 1, client: 2, producer: 3, consumer: 4 };

/** Bytes before a record's variable part (see {@link SpanCodec.encode}). */
export const RECORD_HEADER = 40;
/**
 * Where the header's fields for the ring's bookkeeping sit: record size, trace slot and its
 * generation, the trace's previous record (an offset; {@link NO_PREVIOUS} for none).
 */
export const OFFSET = { size: 0, slot: 4, generation: 8, previous: 16 } as const;
/** The `previous` of a trace's first record. */
export const NO_PREVIOUS = 0xffffffff;
/** Where the header's own fields sit (after the ring's). */
const FLAGS = 12;
const KIND = 14;
const STATUS = 15;
const DROPPED = 20;
const STARTED = 24;
const ENDED = 32;

const FLAG_PARENT = 1;
const FLAG_MESSAGE = 2;
const FLAG_EVENTS = 4;
const FLAG_LINKS = 8;
/** Events or links were dropped: both counts follow the links (the header has room for the attributes' count only). */
const FLAG_DROPPED_MORE = 16;
/** A fixed span's record (fixed-span.ts): its shape and its values follow the name instead of attributes. */
const FLAG_FIXED = 32;

const TAG_STRING = 1;
const TAG_NUMBER = 2;
const TAG_TRUE = 3;
const TAG_FALSE = 4;
const TAG_ARRAY = 5;
const TAG_NULL = 6;
/** A string value written as an index into the table of repeated strings (a class, an event, a short name). */
const TAG_TOKEN = 7;

/**
 * An id's tag is the count of bytes it was written as (its hex digits decoded: half the room of its
 * text, and read back in lower case, as W3C writes ids), or this for one that is not hex, written as text.
 */
const ID_TEXT = 0;
/** A string written inline rather than as an index into the table of repeated strings. */
const INLINE = 0xffff;
/** Distinct attribute keys and span names remembered; later ones are written out each time. (With the values' share, the table stays below {@link INLINE}.) */
const MAX_TABLE = 4_096;
/**
 * Distinct short string values remembered (class names, events, methods, agent names): values repeat
 * far more than they vary, and once this many are known, new ones are written out each time. Kept
 * apart from the keys' share of the table, so values never crowd the keys out.
 */
const MAX_VALUES = 4_096;
/** Values longer than this are always written out. */
const MAX_VALUE_TOKEN = 64;
/**
 * The attributes whose values repeat: a class, an event, a method, an agent's name or path, a model.
 * Others (a request id, a message) are mostly new each time and are always written out, so they never
 * fill the table.
 */
const REPEATING_VALUES: ReadonlySet<string> = new Set([
  sc.HEARTH_AGENT_CLASS,
  sc.HEARTH_AGENT_NAME,
  sc.HEARTH_EVENT,
  sc.HTTP_REQUEST_METHOD,
  sc.URL_PATH,
  sc.URL_SCHEME,
  sc.USER_AGENT_ORIGINAL,
  sc.ERROR_TYPE,
  sc.GEN_AI_OPERATION_NAME,
  sc.GEN_AI_PROVIDER_NAME,
  sc.GEN_AI_AGENT_NAME,
  sc.GEN_AI_AGENT_ID,
  sc.GEN_AI_REQUEST_MODEL,
  sc.GEN_AI_RESPONSE_MODEL,
  sc.GEN_AI_TOOL_NAME,
  sc.GEN_AI_TOOL_TYPE,
  sc.GEN_AI_WORKFLOW_NAME,
  sc.HEARTH_QUEUE_NAME,
]);

const EMPTY: readonly never[] = Object.freeze([]);
const UNSET: SpanStatusRecord = Object.freeze({ code: 0 });

/**
 * Writes spans into a scratch buffer and reads them back. Attribute keys and span names repeat on
 * every request, so each is written as a 2-byte index into a table the codec keeps.
 */
export class SpanCodec {
  #scratch = Buffer.allocUnsafeSlow(64 * 1024);
  #view = new DataView(this.#scratch.buffer, this.#scratch.byteOffset, this.#scratch.byteLength);
  #at = 0;
  readonly #index = new Map<string, number>();
  readonly #table: string[] = [];
  /** Strings of the table added as keys and names, and as values (each share has its own bound). */
  #keys = 0;
  #values = 0;
  /** By table index: whether the key's short string values are written as table indexes too ({@link REPEATING_VALUES}). */
  readonly #repeating: boolean[] = [];

  /** Where {@link encode} wrote its last record. */
  get scratch(): Buffer {
    return this.#scratch;
  }

  /**
   * Encodes `span` behind a header whose `slot`, `generation` and `previous` fields (the ring's trace
   * bookkeeping, see {@link OFFSET}) the caller fills in. Returns the record's size: it is the first
   * that many bytes of {@link scratch}, valid until the next call.
   */
  encode(span: SpanRecord | FixedSpan): number {
    if (span instanceof FixedSpan) return this.#encodeFixed(span);
    this.#at = RECORD_HEADER;
    const status = span.status;
    let flags = 0;
    if (span.parentSpanId !== undefined) flags |= FLAG_PARENT;
    if (status.message !== undefined) flags |= FLAG_MESSAGE;
    if (span.events.length > 0) flags |= FLAG_EVENTS;
    if (span.links.length > 0) flags |= FLAG_LINKS;
    if (span.droppedEvents || span.droppedLinks) flags |= FLAG_DROPPED_MORE;
    // No trace id: the ring keeps it once per trace (see decode).
    this.#id(span.spanId, 8);
    if (span.parentSpanId !== undefined) this.#id(span.parentSpanId, 8);
    this.#token(span.name);
    this.#attributes(span.attributes);
    if (status.message !== undefined) this.#text(status.message);
    if (span.events.length > 0) {
      this.#u32(span.events.length);
      for (const event of span.events) {
        this.#token(event.name);
        this.#f64(event.time);
        this.#attributes(event.attributes);
      }
    }
    if (span.links.length > 0) {
      this.#u32(span.links.length);
      for (const link of span.links) {
        this.#id(link.traceId, 16);
        this.#id(link.spanId, 8);
        this.#attributes(link.attributes);
      }
    }
    if (flags & FLAG_DROPPED_MORE) {
      this.#u32(span.droppedEvents ?? 0);
      this.#u32(span.droppedLinks ?? 0);
    }
    this.#header(flags, KIND_CODES[span.kind] ?? 0, status.code, span.dropped ?? 0, span.startedAt, span.endedAt);
    return this.#at;
  }

  /** {@link encode} for a fixed span: its shape's values, no keys (no status, events or links: it has none). */
  #encodeFixed(span: FixedSpan): number {
    this.#at = RECORD_HEADER;
    const parent = span.parentSpanId;
    this.#id(span.spanId, 8);
    if (parent !== undefined) this.#id(parent, 8);
    this.#token(span.name);
    this.#u8(span.shape);
    span.writeFields(this.#fixed);
    this.#header(FLAG_FIXED | (parent !== undefined ? FLAG_PARENT : 0), span.spanKind, 0, 0, span.startedAt, span.endedAt);
    return this.#at;
  }

  /** Each fixed field's last value and its table index: a busy agent's spans repeat them, and `===` on the same string is cheaper than a lookup. */
  readonly #lastValues: Array<string | undefined> = new Array<string | undefined>(FIXED_CACHES).fill(undefined);
  readonly #lastIndexes = new Uint16Array(FIXED_CACHES);
  readonly #fixed: FixedWriter = {
    u8: (value) => this.#u8(value),
    u16: (value) => this.#u16(value),
    text: (value) => this.#text(value),
    repeating: (value, cache) => {
      if (value === this.#lastValues[cache]) return this.#tokenValue(this.#lastIndexes[cache]!);
      const index = value.length <= MAX_VALUE_TOKEN ? this.#valueIndex(value) : undefined;
      if (index === undefined) return this.#value(value);
      this.#lastValues[cache] = value;
      this.#lastIndexes[cache] = index;
      this.#tokenValue(index);
    },
  };

  #header(flags: number, kind: number, status: number, dropped: number, startedAt: number, endedAt: number): void {
    const view = this.#view;
    view.setUint32(OFFSET.size, this.#at, true);
    view.setUint16(FLAGS, flags, true);
    view.setUint8(KIND, kind);
    view.setUint8(STATUS, status);
    view.setUint32(DROPPED, dropped, true);
    view.setFloat64(STARTED, startedAt, true);
    view.setFloat64(ENDED, endedAt, true);
  }

  /**
   * Reads the record at `offset` of `bytes` (a buffer this codec's records were copied into), a span
   * of trace `traceId` (records do not repeat their trace's id).
   */
  decode(bytes: Buffer, view: DataView, offset: number, traceId: string): SpanRecord {
    const reader = new Reader(bytes, view, offset + RECORD_HEADER, this.#table);
    const flags = view.getUint16(offset + FLAGS, true);
    const code = view.getUint8(offset + STATUS) as 0 | 1 | 2;
    const spanId = reader.id();
    const parentSpanId = flags & FLAG_PARENT ? reader.id() : undefined;
    const name = reader.token();
    const attributes = flags & FLAG_FIXED ? readFixedAttributes(reader.u8(), name, spanId, reader) : reader.attributes();
    const status: SpanStatusRecord = flags & FLAG_MESSAGE ? { code, message: reader.text() } : code === 0 ? UNSET : { code };
    let events: readonly SpanEventRecord[] = EMPTY;
    if (flags & FLAG_EVENTS) {
      const list: SpanEventRecord[] = [];
      for (let i = reader.u32(); i > 0; i--) {
        const eventName = reader.token();
        const time = reader.f64();
        const eventAttributes = reader.attributes();
        list.push(Object.keys(eventAttributes).length > 0 ? { name: eventName, time, attributes: eventAttributes } : { name: eventName, time });
      }
      events = list;
    }
    let links: readonly SpanLinkRecord[] = EMPTY;
    if (flags & FLAG_LINKS) {
      const list: SpanLinkRecord[] = [];
      for (let i = reader.u32(); i > 0; i--) {
        const linkTrace = reader.id();
        const linkSpan = reader.id();
        const linkAttributes = reader.attributes();
        list.push(Object.keys(linkAttributes).length > 0 ? { traceId: linkTrace, spanId: linkSpan, attributes: linkAttributes } : { traceId: linkTrace, spanId: linkSpan });
      }
      links = list;
    }
    const droppedEvents = flags & FLAG_DROPPED_MORE ? reader.u32() : 0;
    const droppedLinks = flags & FLAG_DROPPED_MORE ? reader.u32() : 0;
    const dropped = view.getUint32(offset + DROPPED, true);
    return {
      traceId,
      spanId,
      parentSpanId,
      name,
      kind: KINDS[view.getUint8(offset + KIND)] ?? "internal",
      startedAt: view.getFloat64(offset + STARTED, true),
      endedAt: view.getFloat64(offset + ENDED, true),
      status,
      attributes,
      events,
      links,
      dropped: dropped || undefined,
      droppedEvents: droppedEvents || undefined,
      droppedLinks: droppedLinks || undefined,
    };
  }

  #attributes(attributes: Readonly<Record<string, AttributeValue>> | undefined): void {
    const countAt = this.#at;
    this.#u32(0);
    if (attributes === undefined) return;
    let count = 0;
    for (const key in attributes) {
      const value = attributes[key];
      if (value === undefined) continue;
      this.#attribute(key, value);
      count++;
    }
    this.#view.setUint32(countAt, count, true);
  }

  #attribute(key: string, value: AttributeValue): void {
    const index = this.#token(key);
    if (typeof value === "string" && value.length <= MAX_VALUE_TOKEN && index !== INLINE && this.#repeating[index] === true) this.#repeatingValue(value);
    else this.#value(value);
  }

  #value(value: AttributeValue | null | undefined): void {
    if (typeof value === "string") {
      this.#u8(TAG_STRING);
      this.#text(value);
    } else if (typeof value === "number") {
      this.#u8(TAG_NUMBER);
      this.#f64(value);
    } else if (typeof value === "boolean") {
      this.#u8(value ? TAG_TRUE : TAG_FALSE);
    } else if (Array.isArray(value)) {
      this.#u8(TAG_ARRAY);
      this.#u32(value.length);
      for (const item of value as ReadonlyArray<string | number | boolean | null | undefined>) this.#value(item);
    } else {
      this.#u8(TAG_NULL);
    }
  }

  /** A string that repeats (a key, a span name): its table index, or inline once the table is full. Returns what it wrote ({@link INLINE} for inline). */
  #token(value: string): number {
    let index = this.#index.get(value);
    if (index === undefined && this.#keys < MAX_TABLE && value.length <= 256) {
      this.#keys++;
      index = this.#table.length;
      this.#table.push(value);
      this.#index.set(value, index);
      this.#repeating[index] = REPEATING_VALUES.has(value);
    }
    this.#room(2);
    if (index !== undefined) {
      this.#view.setUint16(this.#at, index, true);
      this.#at += 2;
      return index;
    }
    this.#view.setUint16(this.#at, INLINE, true);
    this.#at += 2;
    this.#text(value);
    return INLINE;
  }

  /** A short value of a {@link REPEATING_VALUES} attribute: its table index, added while there is room for values. */
  #repeatingValue(value: string): void {
    const index = this.#valueIndex(value);
    if (index === undefined) this.#value(value);
    else this.#tokenValue(index);
  }

  /** The table index of a repeating value, added while there is room for values; undefined once there is none. */
  #valueIndex(value: string): number | undefined {
    let index = this.#index.get(value);
    if (index === undefined && this.#values < MAX_VALUES) {
      this.#values++;
      index = this.#table.length;
      this.#table.push(value);
      this.#index.set(value, index);
    }
    return index;
  }

  #tokenValue(index: number): void {
    this.#room(3);
    this.#view.setUint8(this.#at, TAG_TOKEN);
    this.#view.setUint16(this.#at + 1, index, true);
    this.#at += 3;
  }

  /** A trace or span id of `bytes` bytes: those bytes when it is that many in hex, else its text. */
  #id(value: string, bytes: number): void {
    this.#room(1 + 4 + value.length * 3);
    if (writeIdBytes(this.#scratch, this.#at + 1, value, bytes)) {
      this.#view.setUint8(this.#at, bytes);
      this.#at += 1 + bytes;
      return;
    }
    this.#u8(ID_TEXT);
    this.#text(value);
  }

  #text(value: string): void {
    this.#room(4 + value.length * 3);
    const written = this.#scratch.write(value, this.#at + 4, "utf8");
    this.#view.setUint32(this.#at, written, true);
    this.#at += 4 + written;
  }

  #u8(value: number): void {
    this.#room(1);
    this.#view.setUint8(this.#at, value);
    this.#at += 1;
  }

  #u16(value: number): void {
    this.#room(2);
    this.#view.setUint16(this.#at, value, true);
    this.#at += 2;
  }

  #u32(value: number): void {
    this.#room(4);
    this.#view.setUint32(this.#at, value, true);
    this.#at += 4;
  }

  #f64(value: number): void {
    this.#room(8);
    this.#view.setFloat64(this.#at, value, true);
    this.#at += 8;
  }

  /** Grows the scratch buffer (keeping what is written) when `bytes` more would not fit. */
  #room(bytes: number): void {
    if (this.#at + bytes <= this.#scratch.length) return;
    let size = this.#scratch.length * 2;
    while (size < this.#at + bytes) size *= 2;
    const bigger = Buffer.allocUnsafeSlow(size);
    this.#scratch.copy(bigger, 0, 0, this.#at);
    this.#scratch = bigger;
    this.#view = new DataView(bigger.buffer, bigger.byteOffset, bigger.byteLength);
  }
}

/** Reads one record's variable part, front to back. */
class Reader implements FixedReader {
  private readonly bytes: Buffer;
  private readonly view: DataView;
  private at: number;
  private readonly table: readonly string[];

  constructor(bytes: Buffer, view: DataView, at: number, table: readonly string[]) {
    this.bytes = bytes;
    this.view = view;
    this.at = at;
    this.table = table;
  }

  u8(): number {
    const value = this.view.getUint8(this.at);
    this.at += 1;
    return value;
  }

  u16(): number {
    const value = this.view.getUint16(this.at, true);
    this.at += 2;
    return value;
  }

  repeating(): string {
    return String(this.value());
  }

  u32(): number {
    const value = this.view.getUint32(this.at, true);
    this.at += 4;
    return value;
  }

  f64(): number {
    const value = this.view.getFloat64(this.at, true);
    this.at += 8;
    return value;
  }

  id(): string {
    const bytes = this.view.getUint8(this.at);
    this.at += 1;
    if (bytes === ID_TEXT) return this.text();
    const value = this.bytes.toString("hex", this.at, this.at + bytes);
    this.at += bytes;
    return value;
  }

  text(): string {
    const length = this.u32();
    const value = this.bytes.toString("utf8", this.at, this.at + length);
    this.at += length;
    return value;
  }

  token(): string {
    const index = this.view.getUint16(this.at, true);
    this.at += 2;
    return index === INLINE ? this.text() : this.table[index]!;
  }

  attributes(): Record<string, AttributeValue> {
    const out: Record<string, AttributeValue> = {};
    for (let i = this.u32(); i > 0; i--) {
      const key = this.token();
      out[key] = this.value() as AttributeValue;
    }
    return out;
  }

  value(): AttributeValue | null {
    const tag = this.view.getUint8(this.at);
    this.at += 1;
    switch (tag) {
      case TAG_STRING:
        return this.text();
      case TAG_TOKEN: {
        const index = this.view.getUint16(this.at, true);
        this.at += 2;
        return this.table[index]!;
      }
      case TAG_NUMBER:
        return this.f64();
      case TAG_TRUE:
        return true;
      case TAG_FALSE:
        return false;
      case TAG_ARRAY: {
        const items: Array<string | number | boolean | null> = [];
        for (let i = this.u32(); i > 0; i--) items.push(this.value() as string | number | boolean | null);
        return items as AttributeValue;
      }
      default:
        return null;
    }
  }
}
