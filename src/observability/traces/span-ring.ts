/**
 * The memory store's spans: encoded (span-codec.ts) one after another into one preallocated buffer
 * used as a ring, with a small index of the traces it holds. Keeping a span allocates nothing the
 * garbage collector has to trace or copy; reading decodes (queries are rare, spans are not).
 *
 * Order: records sit in the order spans ended, so the record at the tail belongs to the trace seen
 * first of those kept — evicting that trace is "the oldest trace leaves first". The traces kept are
 * also chained in the order first seen (so the oldest is known without reading the ring), and each
 * trace's records newest to oldest through each record's `previous` offset; no record of a live trace
 * is ever overwritten, because the tail only moves past records of evicted traces. Trace ids are
 * indexed without JavaScript objects (trace-index.ts).
 *
 * Size: the ring wraps at a soft end that starts small and doubles (up to `maxBytes`) only while
 * more than half of it holds records. Writing over the same few megabytes keeps them in the CPU's
 * caches; sweeping 32 MB of cold memory cost more than encoding the span.
 */
import type { FixedSpan } from "./fixed-span.ts";
import { NO_PREVIOUS, OFFSET, RECORD_HEADER, SpanCodec } from "./span-codec.ts";
import type { SpanRecord } from "./span-record.ts";
import { TraceIndex } from "./trace-index.ts";

/** The ring's limits. */
export interface SpanRingLimits {
  readonly maxBytes: number;
  readonly maxSpans: number;
  readonly maxTraces: number;
  readonly maxSpansPerTrace: number;
}

/** Why a span was not kept. */
export type NotKept = "trace full" | "too large";

/** Where the ring first wraps (the soft end doubles from here while busy). */
const INITIAL_END = 256 * 1024;

export class SpanRing {
  readonly #limits: SpanRingLimits;
  readonly #codec = new SpanCodec();
  /** Allocated on the first span: a store that never sees one costs no memory (and pages are only touched up to the soft end). */
  #bytes: Buffer | undefined;
  #view: DataView | undefined;
  readonly #capacity: number;
  /** Where the ring wraps now (see the file's comment). */
  #end: number;
  #head = 0;
  #tail = 0;
  /** Records between tail and head, live or not. */
  #records = 0;
  readonly #index: TraceIndex;
  /** The traces kept, oldest first seen to newest: a list through each slot's `#newer` and `#older`. */
  readonly #newer: Int32Array;
  readonly #older: Int32Array;
  #oldest = -1;
  #newest = -1;
  /** The slot of the trace added to last, and its id and generation: a trace's next span finds it without a lookup. */
  #lastId: string | undefined;
  #lastSlot = 0;
  #lastGeneration = 0;
  readonly #generation: Uint32Array;
  readonly #last: Uint32Array;
  readonly #count: Uint32Array;
  readonly #free: number[] = [];
  #spans = 0;
  #evicted = 0;

  constructor(limits: SpanRingLimits) {
    this.#limits = limits;
    this.#capacity = limits.maxBytes;
    this.#end = Math.min(this.#capacity, INITIAL_END);
    const slots = limits.maxTraces + 1; // one more while a new trace waits for the oldest to leave
    this.#generation = new Uint32Array(slots);
    this.#last = new Uint32Array(slots);
    this.#count = new Uint32Array(slots);
    this.#newer = new Int32Array(slots).fill(-1);
    this.#older = new Int32Array(slots).fill(-1);
    this.#index = new TraceIndex(slots);
    for (let slot = slots - 1; slot >= 0; slot--) this.#free.push(slot);
  }

  get traceCount(): number {
    return this.#generation.length - this.#free.length; // a slot is held or free
  }

  get spanCount(): number {
    return this.#spans;
  }

  /** Traces pushed out by the limits. */
  get evicted(): number {
    return this.#evicted;
  }

  /** Bytes of the buffer in use: up to where it wraps now. */
  get bytes(): number {
    return this.#bytes ? this.#end : 0;
  }

  has(traceId: string): boolean {
    return this.#slotOf(traceId) >= 0;
  }

  /** Keeps `span`; evicts the oldest traces while a limit is exceeded. Returns why not when it is not kept. */
  add(span: SpanRecord | FixedSpan): NotKept | undefined {
    let slot = this.#slotOf(span.traceId);
    if (slot >= 0 && this.#count[slot]! >= this.#limits.maxSpansPerTrace) return "trace full";
    const size = this.#codec.encode(span);
    if (size > this.#capacity / 2) return "too large";
    const evicted = this.#evicted;
    const at = this.#place(size);
    // Looked up again only when making room evicted a trace: it may have been this very one.
    if (this.#evicted !== evicted) slot = this.#slotOf(span.traceId);
    if (slot < 0) slot = this.#openTrace(span.traceId);
    this.#codec.scratch.copy(this.#bytes!, at, 0, size);
    const view = this.#view!;
    view.setUint32(at + OFFSET.slot, slot, true);
    view.setUint32(at + OFFSET.generation, this.#generation[slot]!, true);
    view.setUint32(at + OFFSET.previous, this.#count[slot]! > 0 ? this.#last[slot]! : NO_PREVIOUS, true);
    this.#last[slot] = at;
    this.#count[slot] = this.#count[slot]! + 1;
    this.#spans++;
    // Never the trace just added to: the span would leave at once, with its trace's earlier spans.
    while (this.traceCount > this.#limits.maxTraces || (this.#spans > this.#limits.maxSpans && this.traceCount > 1)) this.#evictOldest(slot);
    this.#lastId = span.traceId;
    this.#lastSlot = slot;
    this.#lastGeneration = this.#generation[slot]!;
    return undefined;
  }

  /** One trace's spans in the order they ended; undefined when the ring does not hold it. */
  trace(traceId: string): SpanRecord[] | undefined {
    const slot = this.#slotOf(traceId);
    if (slot < 0) return undefined;
    const spans: SpanRecord[] = [];
    for (let at = this.#last[slot]!; at !== NO_PREVIOUS; at = this.#view!.getUint32(at + OFFSET.previous, true)) {
      spans.push(this.#codec.decode(this.#bytes!, this.#view!, at, traceId));
    }
    return spans.reverse();
  }

  /** Every kept span, oldest first, grouped by trace in the order each trace was first seen. */
  grouped(): Map<string, SpanRecord[]> {
    const out = new Map<string, SpanRecord[]>();
    const ids: string[] = []; // by slot: each live record's slot holds one trace
    let at = this.#tail;
    for (let left = this.#records; left > 0; left--) {
      at = this.#unwrapped(at);
      if (this.#live(at)) {
        const slot = this.#view!.getUint32(at + OFFSET.slot, true);
        const span = this.#codec.decode(this.#bytes!, this.#view!, at, (ids[slot] ??= this.#index.idOf(slot)));
        const list = out.get(span.traceId);
        if (list) list.push(span);
        else out.set(span.traceId, [span]);
      }
      at += this.#view!.getUint32(at + OFFSET.size, true);
    }
    return out;
  }

  /** The offset a record of `size` bytes goes to; room is made by evicting the oldest traces. */
  #place(size: number): number {
    if (!this.#bytes) {
      this.#bytes = Buffer.allocUnsafeSlow(this.#capacity);
      this.#view = new DataView(this.#bytes.buffer, this.#bytes.byteOffset, this.#bytes.byteLength);
    }
    for (;;) {
      if (this.#records === 0) this.#head = this.#tail = 0;
      const wrapped = this.#records > 0 && this.#head <= this.#tail;
      if (wrapped) {
        // Records run from the tail to where the ring wrapped, then from 0 to the head.
        if (this.#head + size <= this.#tail) return this.#claim(this.#head, size);
      } else {
        if (this.#head + size <= this.#end) return this.#claim(this.#head, size);
        const busy = this.#head - this.#tail > this.#end / 2;
        if (size <= this.#tail && !busy) return this.#wrapAndClaim(size);
        if (this.#end < this.#capacity) {
          this.#end = Math.min(this.#capacity, Math.max(this.#end * 2, this.#head + size));
          continue;
        }
        if (size <= this.#tail) return this.#wrapAndClaim(size);
      }
      this.#evictOldest();
    }
  }

  #claim(at: number, size: number): number {
    this.#head = at + size;
    this.#records++;
    return at;
  }

  /** Marks the rest of the buffer unused from the head (the tail skips it) and claims from the start. */
  #wrapAndClaim(size: number): number {
    if (this.#head + 4 <= this.#capacity) this.#view!.setUint32(this.#head, 0, true);
    return this.#claim(0, size);
  }

  /** Evicts the oldest trace (other than that of slot `keep`) and moves the tail past records of evicted traces. */
  #evictOldest(keep?: number): void {
    const slot = this.#oldest === keep ? this.#newer[this.#oldest]! : this.#oldest;
    if (slot < 0) {
      this.#skipDead();
      return;
    }
    this.#close(slot);
    this.#evicted++;
    this.#skipDead();
  }

  /** Moves the tail past records of evicted traces (and past where the ring wrapped). */
  #skipDead(): void {
    while (this.#records > 0) {
      const at = this.#unwrapped(this.#tail);
      if (this.#live(at)) {
        this.#tail = at;
        return;
      }
      this.#tail = at + this.#view!.getUint32(at + OFFSET.size, true);
      this.#records--;
    }
    this.#head = this.#tail = 0;
  }

  /** `at`, or 0 when the ring wrapped there (a record never starts within a header of the end). */
  #unwrapped(at: number): number {
    return at + RECORD_HEADER > this.#capacity || this.#view!.getUint32(at + OFFSET.size, true) === 0 ? 0 : at;
  }

  #live(at: number): boolean {
    const slot = this.#view!.getUint32(at + OFFSET.slot, true);
    // Closing a slot moves its generation on: a record of an evicted trace never matches again.
    return this.#generation[slot] === this.#view!.getUint32(at + OFFSET.generation, true);
  }

  /** The slot holding `traceId`, or -1. */
  #slotOf(traceId: string): number {
    const last = this.#lastSlot;
    if (traceId === this.#lastId && this.#generation[last] === this.#lastGeneration) return last;
    return this.#index.find(traceId);
  }

  #openTrace(traceId: string): number {
    const slot = this.#free.pop()!;
    this.#index.add(traceId, slot);
    this.#count[slot] = 0;
    this.#older[slot] = this.#newest;
    this.#newer[slot] = -1;
    if (this.#newest >= 0) this.#newer[this.#newest] = slot;
    else this.#oldest = slot;
    this.#newest = slot;
    return slot;
  }

  #close(slot: number): void {
    this.#index.remove(slot);
    const older = this.#older[slot]!;
    const newer = this.#newer[slot]!;
    if (older >= 0) this.#newer[older] = newer;
    else this.#oldest = newer;
    if (newer >= 0) this.#older[newer] = older;
    else this.#newest = older;
    this.#spans -= this.#count[slot]!;
    this.#count[slot] = 0;
    this.#generation[slot] = (this.#generation[slot]! + 1) >>> 0;
    this.#free.push(slot);
  }
}
