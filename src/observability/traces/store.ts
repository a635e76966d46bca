import type { Durability } from "../../limits.ts";
import { FixedSpan } from "./fixed-span.ts";
import { GEN_AI_OPERATION_NAME } from "./semconv.ts";
import type { SpanRecord } from "./span-record.ts";
import { SpanRing } from "./span-ring.ts";
import { SpanTable, type SpanRetention } from "./span-table.ts";
import { checkTraceQuery, compareNewestFirst, DEFAULT_TRACE_PAGE, makeCursor, matchesTrace, parseCursor, type TracePage, type TraceQuery } from "./trace-query.ts";
import { summarizeTrace, type TraceSummary } from "./trace-summary.ts";
// Node's own timers, whatever a test's fake timers put on the global object, and whenever this module loads.
import { clearTimeout as realClearTimeout, setImmediate as realSetImmediate, setTimeout as realSetTimeout } from "node:timers";

/** The memory limits of the span store, and where it persists. */
export interface SpanStoreOptions {
  /** Spans kept in memory across all traces. Default {@link DEFAULT_SPAN_STORE}.maxSpans. */
  maxSpans?: number;
  /** Traces kept in memory; the oldest trace goes first. Default {@link DEFAULT_SPAN_STORE}.maxTraces. */
  maxTraces?: number;
  /** Spans kept per trace; later spans of a larger trace are dropped (counted). */
  maxSpansPerTrace?: number;
  /**
   * Bytes of memory for the spans, allocated at the first span (they are kept encoded, not as
   * objects); the oldest traces leave when it is full. Default {@link DEFAULT_SPAN_STORE}.maxBytes.
   */
  maxBytes?: number;
  /** Also keep spans in this SQLite file (batched writes), with retention by age and row count. */
  persist?: { path: string; durability?: Durability } & SpanRetention & SpanFileSampling;
  /** The clock retention reads (epoch ms). Default Date.now. */
  now?: () => number;
}

/**
 * Which traces the file keeps (memory keeps them all). A trace is written whole — the spans of it
 * still in memory, then each later one — once any of its spans has an error, is a model call
 * (`gen_ai.operation.name`) or took `slowMs`; of the other traces, `sampleRatio` (by trace id).
 */
export interface SpanFileSampling {
  /** Share of ordinary traces written, 0–1. Default 1 (every trace). */
  sampleRatio?: number;
  /** A span at least this long (ms) makes its trace worth keeping. Default 1,000. */
  slowMs?: number;
}

export const DEFAULT_SPAN_STORE = { maxSpans: 20_000, maxTraces: 2_000, maxSpansPerTrace: 1_000, maxBytes: 32 * 1024 * 1024 } as const;
/** Spans are written to the file this often, in one transaction (a commit per turn would cost more than the rows). */
const FLUSH_INTERVAL_MS = 1_000;
/** A place in the newest-first order of traces (what a cursor names). */
type Position = { readonly startedAt: number; readonly traceId: string };

/** Trace summaries read from the file per query at most (a filter that matches nothing stops there). */
const FILE_SCAN_TRACES = 20_000;
const FILE_SCAN_CHUNK = 500;
/** Bounds of `maxBytes`: a span must fit in half of it; beyond 1 GiB a store of recent spans is a database. */
const MIN_BYTES = 64 * 1024;
const MAX_BYTES = 1024 * 1024 * 1024;
/** Pending spans that make the write happen on the next turn instead of at the next interval. */
const FLUSH_AT_PENDING = 2_000;
/**
 * Spans handed to `add` that are kept at once rather than at the end of the event loop's turn (a loop
 * that ends spans without yielding must not queue them without bound).
 */
const MAX_QUEUED = 64;

/** One trace with its spans, as `GET /api/traces/:traceId` answers. */
export interface TraceDetail {
  readonly traceId: string;
  readonly spans: readonly SpanRecord[];
}

/** Counts for the inspector's status line and tests. */
export interface SpanStoreStats {
  readonly traces: number;
  readonly spans: number;
  /** Spans not kept because their trace had `maxSpansPerTrace` already. */
  readonly droppedSpans: number;
  /** Traces pushed out of memory by the limits. */
  readonly evictedTraces: number;
  /** Bytes the spans in memory take (of `maxBytes`). */
  readonly bytes: number;
}


/**
 * Keeps recent spans for the inspector: a bounded in-memory set of whole traces (the oldest trace
 * leaves first), optionally written to a SQLite file with retention. Query it with `listTraces` and
 * `getTrace`; watch it with `subscribe`.
 * @example
 * const store = new SpanStore({ maxTraces: 500 });
 * onSpanEnd((span) => store.add(span));
 * store.listTraces({ class: "Support", error: true }).items;
 */
export class SpanStore {
  /** The spans in memory, encoded; summaries are computed when listed (off the hot path). */
  readonly #ring: SpanRing;
  readonly #limits: { maxSpans: number; maxTraces: number; maxSpansPerTrace: number; maxBytes: number };
  readonly #table: SpanTable | undefined;
  readonly #listeners = new Set<(span: SpanRecord) => void>();
  #pending: SpanRecord[] = [];
  /** Spans added this turn, kept together when it ends (see {@link add}). */
  #queued: Array<SpanRecord | FixedSpan> = [];
  /**
   * Traces the file keeps for a span's error, model call or slowness (see {@link SpanFileSampling}),
   * newest last; bounded like the traces in memory. Those the ratio keeps are known by their ids.
   */
  readonly #written = new Set<string>();
  readonly #sampling: { ratio: number; slowMs: number };
  #timer: ReturnType<typeof setTimeout> | undefined;
  #soon = false;
  #dropped = 0;

  constructor(options: SpanStoreOptions = {}) {
    this.#limits = {
      maxSpans: options.maxSpans ?? DEFAULT_SPAN_STORE.maxSpans,
      maxTraces: options.maxTraces ?? DEFAULT_SPAN_STORE.maxTraces,
      maxSpansPerTrace: options.maxSpansPerTrace ?? DEFAULT_SPAN_STORE.maxSpansPerTrace,
      maxBytes: options.maxBytes ?? DEFAULT_SPAN_STORE.maxBytes,
    };
    for (const [key, value] of Object.entries(this.#limits)) {
      if (!(Number.isInteger(value) && value >= 1)) throw new RangeError(`traces ${key} must be a positive integer, got ${value}`);
    }
    // One trace alone may not hold more than the store does.
    this.#limits.maxSpansPerTrace = Math.min(this.#limits.maxSpansPerTrace, this.#limits.maxSpans);
    if (this.#limits.maxBytes < MIN_BYTES || this.#limits.maxBytes > MAX_BYTES) {
      throw new RangeError(`traces maxBytes must be from ${MIN_BYTES} to ${MAX_BYTES}, got ${this.#limits.maxBytes}`);
    }
    this.#ring = new SpanRing(this.#limits);
    this.#sampling = { ratio: options.persist?.sampleRatio ?? 1, slowMs: options.persist?.slowMs ?? 1_000 };
    if (!(this.#sampling.ratio >= 0 && this.#sampling.ratio <= 1)) throw new RangeError(`traces persist.sampleRatio must be from 0 to 1, got ${this.#sampling.ratio}`);
    if (!(this.#sampling.slowMs >= 0)) throw new RangeError(`traces persist.slowMs must be a number >= 0, got ${this.#sampling.slowMs}`);
    if (options.persist) {
      const { path, durability, sampleRatio: _ratio, slowMs: _slow, ...retention } = options.persist;
      this.#table = new SpanTable(path, durability ?? "relaxed", retention, options.now ?? Date.now);
      // Traces the file holds already: their later spans go to it as they end, never their earlier ones again.
      for (const span of this.#table.newestTraces(this.#limits.maxSpans)) {
        this.#keep(span);
        this.#remember(span.traceId);
      }
    }
  }

  /** Queues `span` for the file when its trace is kept there (and, the first time, the trace's earlier spans). */
  #toFile(span: SpanRecord | FixedSpan): boolean {
    const { slowMs } = this.#sampling;
    if (this.#inFile(span.traceId)) return (this.#pending.push(recordOf(span)), true);
    // A fixed span has no status, events or model attributes of its own (it would have ended as a record).
    const slow = span.endedAt - span.startedAt >= slowMs;
    const worth = span instanceof FixedSpan ? slow : slow || span.status.code === 2 || span.attributes[GEN_AI_OPERATION_NAME] !== undefined;
    if (!worth) return false;
    this.#remember(span.traceId);
    this.#pending.push(...(this.#ring.trace(span.traceId) ?? [recordOf(span)]));
    return true;
  }

  /** Whether the file keeps trace `traceId` (every span of it goes there). */
  #inFile(traceId: string): boolean {
    const { ratio } = this.#sampling;
    // A trace the ratio keeps is known by its id alone; those kept for what one of their spans showed
    // are remembered (most spans find none to look up).
    return ratio >= 1 || (ratio > 0 && idTail(traceId) / 0xffffffff < ratio) || (this.#written.size > 0 && this.#written.has(traceId));
  }

  /** A trace the file keeps (bounded like the traces in memory; the oldest is forgotten first). */
  #remember(traceId: string): void {
    this.#written.add(traceId);
    if (this.#written.size > this.#limits.maxTraces * 2) this.#written.delete(this.#written.values().next().value!);
  }

  /**
   * Adds a finished span (the tracer's span listener calls this). It is kept at the end of the event
   * loop's turn, with the other spans of that turn: encoding spans one after another, away from the
   * requests that made them, cost a served request less than half of what encoding each as it ended
   * did. Every read (`listTraces`, `getTrace`, `stats`, `flush`) sees the spans added before it. A
   * fixed span (fixed-span.ts) is encoded from its fields; a record is made of it only for the file
   * and subscribers.
   */
  add(span: SpanRecord | FixedSpan): void {
    const queued = this.#queued.push(span);
    if (queued === 1) realSetImmediate(this.#keepQueued);
    else if (queued >= MAX_QUEUED) this.#keepQueued();
  }

  /** Keeps the spans queued by {@link add}, in the order they were added. */
  readonly #keepQueued = (): void => {
    const batch = this.#queued;
    if (batch.length === 0) return;
    this.#queued = [];
    for (let i = 0; i < batch.length; i++) {
      // One span that cannot be kept (a malformed record handed to `add`) loses only itself.
      try {
        this.#addNow(batch[i]!);
      } catch (error) {
        console.error("[hearth] span store: could not keep a span:", error);
      }
    }
  };

  #addNow(span: SpanRecord | FixedSpan): void {
    if (!this.#keep(span)) return;
    if (this.#table && this.#toFile(span)) {
      if (this.#pending.length >= FLUSH_AT_PENDING && !this.#soon) {
        this.#soon = true;
        realSetImmediate(this.#flushNow);
      } else if (this.#timer === undefined) {
        this.#timer = realSetTimeout(this.#flushNow, FLUSH_INTERVAL_MS);
        this.#timer.unref?.();
      }
    }
    if (this.#listeners.size === 0) return;
    const record = recordOf(span);
    for (const listener of this.#listeners) {
      try {
        listener(record);
      } catch (error) {
        console.error("[hearth] span store subscriber failed:", error);
      }
    }
  }

  /**
   * Traces newest first, filtered, one page at a time: those in memory and, with persistence, those
   * in the file (a trace in both is listed once, with the summary that counts more of its spans).
   * @example store.listTraces({ model: "gpt-4o", minDurationMs: 1000, limit: 20 })
   */
  listTraces(query: TraceQuery = {}): TracePage {
    checkTraceQuery(query);
    this.#keepQueued();
    const limit = query.limit ?? DEFAULT_TRACE_PAGE;
    const after = query.cursor === undefined ? undefined : parseCursor(query.cursor);
    let items = this.#matchingInMemory(query, after, limit + 1);
    if (this.#table) {
      this.flush();
      const file = this.#matchingInFile(query, after, limit + 1);
      items.push(...file.items);
      items.sort(compareNewestFirst);
      const scannedTo = file.scannedTo;
      if (scannedTo) {
        // The file scan stopped at its bound: nothing older than where it stopped is known yet, from
        // memory either, or the file's traces in between would be skipped for good.
        items = items.filter((item) => compareNewestFirst(item, scannedTo) <= 0);
        if (items.length <= limit) return { items, cursor: makeCursor(scannedTo) };
      }
    }
    if (items.length <= limit) return { items };
    const page = items.slice(0, limit);
    return { items: page, cursor: makeCursor(page[page.length - 1]!) };
  }

  #matchingInMemory(query: TraceQuery, after: Position | undefined, count: number): TraceSummary[] {
    const groups = [...this.#ring.grouped()];
    // Memory may hold part of a trace the file has whole (one that left memory and came back with a
    // later span): the file's summary of it then counts more.
    const whole = this.#table?.summaries(groups.flatMap(([traceId]) => (this.#inFile(traceId) ? [traceId] : [])));
    const all = groups
      .map(([traceId, spans]) => {
        const own = summarizeTrace(traceId, spans);
        const file = whole?.get(traceId);
        return file !== undefined && file.spans > own.spans ? file : own;
      })
      .sort(compareNewestFirst);
    const items: TraceSummary[] = [];
    for (const trace of all) {
      if (after && compareNewestFirst(trace, after) <= 0) continue;
      if (!matchesTrace(trace, query)) continue;
      items.push(trace);
      if (items.length === count) break;
    }
    return items;
  }

  /**
   * Up to `count` matching traces from the file that memory does not hold. Reads at most
   * FILE_SCAN_TRACES summaries; `scannedTo` is where it stopped when that bound cut it short.
   */
  #matchingInFile(query: TraceQuery, after: Position | undefined, count: number): { items: TraceSummary[]; scannedTo?: Position } {
    const items: TraceSummary[] = [];
    let from = after;
    let scanned = 0;
    while (items.length < count) {
      if (scanned >= FILE_SCAN_TRACES) return { items, scannedTo: from! };
      const chunk = this.#table!.summariesAfter(from, FILE_SCAN_CHUNK);
      for (const trace of chunk) {
        if (!this.#ring.has(trace.traceId) && matchesTrace(trace, query)) items.push(trace);
        if (items.length === count) break;
      }
      if (chunk.length < FILE_SCAN_CHUNK) break;
      scanned += chunk.length;
      from = chunk[chunk.length - 1];
    }
    return { items };
  }

  /**
   * One trace's spans in start order, from memory and the SQLite file (memory may hold part of a trace
   * the file has whole: one that left memory and came back with a later span); undefined when unknown.
   */
  getTrace(traceId: string): TraceDetail | undefined {
    this.#keepQueued();
    const bySpan = new Map<string, SpanRecord>();
    const inMemory = this.#ring.trace(traceId);
    // The file only when it may hold more: the trace is not in memory, or the file keeps it.
    if (this.#table && (inMemory === undefined || this.#inFile(traceId))) {
      this.flush();
      for (const span of this.#table.trace(traceId)) bySpan.set(span.spanId, span);
    }
    for (const span of inMemory ?? []) bySpan.set(span.spanId, span);
    if (bySpan.size === 0) return undefined;
    return { traceId, spans: [...bySpan.values()].sort((a, b) => a.startedAt - b.startedAt) };
  }

  /** Calls `listener` with each span as it is added (live views). Returns a function that stops it. */
  subscribe(listener: (span: SpanRecord) => void): () => void {
    this.#keepQueued(); // spans added before it started are not its to see
    this.#listeners.add(listener);
    return () => {
      this.#keepQueued(); // what was added before it stopped still reaches it
      return this.#listeners.delete(listener);
    };
  }

  stats(): SpanStoreStats {
    this.#keepQueued();
    return { traces: this.#ring.traceCount, spans: this.#ring.spanCount, droppedSpans: this.#dropped, evictedTraces: this.#ring.evicted, bytes: this.#ring.bytes };
  }

  /** Writes pending spans to the SQLite file now. */
  flush(): void {
    this.#keepQueued();
    if (this.#timer !== undefined) {
      realClearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const batch = this.#pending;
    if (batch.length === 0 || !this.#table) return;
    this.#pending = [];
    try {
      this.#table.insert(batch);
    } catch (error) {
      console.error(`[hearth] span store: could not write ${batch.length} spans:`, error);
    }
  }

  /** Runs retention on the SQLite file now; returns how many spans it deleted. */
  retain(): number {
    this.flush();
    return this.#table?.retain() ?? 0;
  }

  /** Flushes and closes the SQLite file. */
  close(): void {
    this.flush();
    this.#table?.close();
  }

  readonly #flushNow = (): void => {
    this.#soon = false;
    this.flush();
  };

  #keep(span: SpanRecord | FixedSpan): boolean {
    if (this.#ring.add(span) === undefined) return true;
    this.#dropped++;
    return false;
  }
}

function recordOf(span: SpanRecord | FixedSpan): SpanRecord {
  return span instanceof FixedSpan ? span.toRecord() : span;
}

/** The last 8 hex digits of a trace id as a number (random in a W3C id): which share of traces it falls in. Read in place, not sliced and parsed. */
function idTail(traceId: string): number {
  let value = 0;
  for (let i = Math.max(0, traceId.length - 8); i < traceId.length; i++) {
    const code = traceId.charCodeAt(i) | 0x20; // lower case
    const digit = code >= 0x30 && code <= 0x39 ? code - 0x30 : code >= 0x61 && code <= 0x66 ? code - 0x57 : 0;
    value = value * 16 + digit;
  }
  return value;
}
