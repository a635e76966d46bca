import { setImmediate } from "node:timers"; // Node's own: never an application's fake one
import type { Durability } from "../../limits.ts";
import type { LogDestination } from "../logs/logger.ts";
import type { LogRecord } from "../logs/types.ts";
import { searchText, toLogEntry, type LogEntry } from "./log-entry.ts";
import { compileFilter, compileQuery, matches, type CompiledFilter, type LogFilter, type LogQuery } from "./log-query.ts";
import { LogTable, type LogRetention, type LogRow } from "./log-table.ts";
import { encodeIdCursor, type Page } from "./page.ts";

/** Entries the in-memory ring keeps by default. */
export const DEFAULT_LOG_CAPACITY = 10_000;
/** Bytes (of the entries' JSON) the ring keeps by default; the oldest go first beyond it. */
export const DEFAULT_LOG_RING_BYTES = 32 * 1024 * 1024;
/** The largest ring that may be asked for, in entries. */
export const MAX_LOG_CAPACITY = 1_000_000;

export interface LogStoreOptions {
  /** Entries kept in memory (the live tail's resume buffer, and the query source without a file). Default 10,000. */
  capacity?: number;
  /** Bytes of entry JSON kept in memory. Default 32 MiB. */
  maxBytes?: number;
  /** A SQLite file that keeps entries past the ring and across restarts (its directory is created). */
  path?: string;
  /** `relaxed` (default) or `strict` (`synchronous = FULL`) for the file. */
  durability?: Durability;
  /** What the file keeps. Default 7 days and 1,000,000 entries. */
  retention?: LogRetention;
  /** The clock of retention and of lines that carry no time. Default `Date.now`. */
  now?: () => number;
}

/** A live subscriber: called with each new entry that passes its filter. */
export type LogListener = (entry: LogEntry) => void;

interface Slot {
  readonly id: number;
  readonly raw: LogRecord | string;
  entry?: LogEntry;
  bytes: number;
}

interface Subscriber {
  listener: LogListener;
  filter: CompiledFilter;
}

/**
 * The inspector's log store: a bounded ring of recent records (and, given a `path`, a SQLite file with
 * retention) that the logger writes into, with filtered pages and a live tail. Writing only pushes onto
 * the ring; parsing, the file's batched insert and the subscribers run once per event-loop turn.
 * @example
 * const logs = new LogStore({ path: join(dataDir, "observability", "logs.sqlite") });
 * const log = createLogger({ onRecord: logs.onRecord });
 * log.warn({ agent: "Chat", name: "a" }, "slow reply");
 * logs.query({ level: "warn", class: "Chat", limit: 20 }); // { items: [{ id, time, level: 40, msg: "slow reply", … }], next: null }
 * const stop = logs.subscribe((entry) => send(entry), { after: lastEventId, filter: { level: "error" } });
 */
export class LogStore implements LogDestination {
  readonly #slots: Array<Slot | undefined>;
  readonly #capacity: number;
  readonly #maxBytes: number;
  readonly #now: () => number;
  readonly #table: LogTable | undefined;
  readonly #subscribers = new Set<Subscriber>();
  #head = 0;
  #size = 0;
  #bytes = 0;
  #seq: number;
  /** Slots written since the last flush. */
  #pending: Slot[] = [];
  /** The highest id already handed to subscribers (live delivery starts after it). */
  #flushedId: number;
  #scheduled = false;
  #closed = false;
  #failed = false;

  constructor(options: LogStoreOptions = {}) {
    this.#capacity = whole("capacity", options.capacity ?? DEFAULT_LOG_CAPACITY, MAX_LOG_CAPACITY);
    this.#maxBytes = whole("maxBytes", options.maxBytes ?? DEFAULT_LOG_RING_BYTES, Number.MAX_SAFE_INTEGER);
    this.#now = options.now ?? Date.now;
    this.#slots = new Array<Slot | undefined>(this.#capacity);
    this.#table = options.path ? new LogTable(options.path, options.durability ?? "relaxed", options.retention ?? {}, this.#now) : undefined;
    this.#seq = this.#table?.lastId() ?? 0;
    this.#flushedId = this.#seq;
  }

  /** Takes a logger record (pass as `createLogger({ onRecord })`): the cheap way in, nothing is parsed. */
  readonly onRecord = (record: LogRecord): void => {
    this.#push(record);
  };

  /** Takes a JSON line (as a logger destination or one side of a tee); a line that is not JSON becomes an `info` message. */
  write(line: string): boolean {
    this.#push(line);
    return true;
  }

  /** The id of the newest entry (0 when none): a live tail resumes after an id. */
  get lastId(): number {
    return this.#seq;
  }

  /** Entries in memory, and in the file when there is one. */
  get stats(): { ring: number; ringBytes: number; stored: number | undefined; subscribers: number } {
    this.flush();
    return { ring: this.#size, ringBytes: this.#bytes, stored: this.#table?.count(), subscribers: this.#subscribers.size };
  }

  /**
   * A page of entries, newest first, from the file when there is one, else from the ring.
   * @throws RangeError for a bad level, limit, cursor, `since` or an overlong `q`.
   */
  query(query: LogQuery = {}): Page<LogEntry> {
    const compiled = compileQuery(query);
    this.flush();
    const found = this.#table ? this.#table.query(compiled) : this.#scan(compiled.filter, compiled.before, compiled.limit + 1);
    const more = found.length > compiled.limit;
    const items = more ? found.slice(0, compiled.limit) : found;
    return { items, next: more ? encodeIdCursor(items[items.length - 1]!.id) : null };
  }

  /**
   * Calls `listener` with every new entry that passes `filter`. With `after` (a `Last-Event-ID`), the
   * ring's entries after that id are replayed first (older ones are gone). Returns the unsubscribe.
   * @throws RangeError for a bad filter.
   */
  subscribe(listener: LogListener, options: { after?: number; filter?: LogFilter } = {}): () => void {
    const subscriber: Subscriber = { listener, filter: compileFilter(options.filter) };
    if (options.after !== undefined) {
      for (const entry of this.#scan(subscriber.filter, this.#flushedId + 1, Number.MAX_SAFE_INTEGER, options.after).reverse()) {
        deliver(subscriber, entry);
      }
    }
    this.#subscribers.add(subscriber);
    return () => {
      this.#subscribers.delete(subscriber);
    };
  }

  /** Writes pending entries to the file and hands them to subscribers now (normally once per turn). */
  flush(): void {
    this.#scheduled = false;
    if (this.#pending.length === 0) return;
    const batch = this.#pending;
    this.#pending = [];
    const rows: LogRow[] = [];
    // Without a file, nothing needs the entry yet unless a subscriber may want it: it is built when read.
    const wanted = Math.min(...[...this.#subscribers].map((subscriber) => subscriber.filter.level ?? Number.NEGATIVE_INFINITY));
    for (const slot of batch) {
      if (this.#table) {
        const entry = this.#entryOf(slot);
        const json = jsonOf(entry);
        rows.push({ entry, text: searchText(entry), json });
        if (slot === this.#slotById(slot.id)) this.#account(slot, json.length);
      } else {
        if (typeof slot.raw === "string") this.#entryOf(slot); // a line without a time is stamped now, not when read
        if (slot === this.#slotById(slot.id)) this.#account(slot, approximateBytes(slot.raw));
      }
    }
    this.#writeRows(rows);
    this.#flushedId = batch[batch.length - 1]!.id;
    if (this.#subscribers.size === 0) return;
    for (const slot of batch) {
      if (typeof slot.raw !== "string" && typeof slot.raw.level === "number" && slot.raw.level < wanted) continue;
      const entry = this.#entryOf(slot);
      for (const subscriber of this.#subscribers) deliver(subscriber, entry);
    }
  }

  /** Flushes and closes the file; later records are ignored. */
  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    this.#subscribers.clear();
    this.#table?.close();
  }

  #push(raw: LogRecord | string): void {
    if (this.#closed) return;
    const slot: Slot = { id: ++this.#seq, raw, bytes: 0 };
    if (this.#size === this.#capacity) this.#evictOldest();
    this.#slots[(this.#head + this.#size) % this.#capacity] = slot;
    this.#size++;
    this.#pending.push(slot);
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.flush());
    }
  }

  #entryOf(slot: Slot): LogEntry {
    return (slot.entry ??= toLogEntry(slot.id, slot.raw, this.#now));
  }

  #account(slot: Slot, bytes: number): void {
    slot.bytes = bytes;
    this.#bytes += bytes;
    while (this.#bytes > this.#maxBytes && this.#size > 1) this.#evictOldest();
  }

  #evictOldest(): void {
    const slot = this.#slots[this.#head];
    this.#slots[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.#capacity;
    this.#size--;
    if (slot) this.#bytes -= slot.bytes;
  }

  #slotById(id: number): Slot | undefined {
    const oldest = this.#slots[this.#head];
    if (!oldest || id < oldest.id || id >= oldest.id + this.#size) return undefined;
    return this.#slots[(this.#head + (id - oldest.id)) % this.#capacity];
  }

  /** Ring entries with `after < id < before` that pass `filter`, newest first, at most `limit`. */
  #scan(filter: CompiledFilter, before: number, limit: number, after = 0): LogEntry[] {
    const found: LogEntry[] = [];
    for (let i = this.#size - 1; i >= 0 && found.length < limit; i--) {
      const slot = this.#slots[(this.#head + i) % this.#capacity]!;
      if (slot.id <= after) break;
      if (slot.id >= before) continue;
      const entry = this.#entryOf(slot);
      if (matches(entry, filter)) found.push(entry);
    }
    return found;
  }

  #writeRows(rows: LogRow[]): void {
    if (!this.#table || rows.length === 0) return;
    try {
      this.#table.insert(rows);
      this.#failed = false;
    } catch (error) {
      // The ring still has them; say so once per failure streak rather than once per turn.
      if (!this.#failed) console.error("[hearth] the log store could not write its file:", error instanceof Error ? error.message : error);
      this.#failed = true;
    }
  }
}

function deliver(subscriber: Subscriber, entry: LogEntry): void {
  if (!matches(entry, subscriber.filter)) return;
  try {
    subscriber.listener(entry);
  } catch (error) {
    console.error("[hearth] a log subscriber failed:", error);
  }
}

/**
 * About the JSON size of a record, without writing it (the ring's byte budget when there is no file to
 * write to): exact for flat strings and numbers, nested values are written to measure them.
 */
function approximateBytes(raw: LogRecord | string): number {
  if (typeof raw === "string") return raw.length;
  let bytes = 2;
  for (const key in raw) {
    const value = raw[key];
    bytes += key.length + 4;
    if (typeof value === "string") bytes += value.length + 2;
    else if (typeof value === "number" || typeof value === "boolean") bytes += 16;
    else if (typeof value === "object" && value !== null) bytes += jsonLength(value);
    else bytes += 4;
  }
  return bytes;
}

function jsonLength(value: object): number {
  try {
    return JSON.stringify(value)?.length ?? 4;
  } catch {
    return 64;
  }
}

/** The entry's JSON; an entry that cannot be written (a BigInt from a caller that skipped the logger) keeps its basics. */
function jsonOf(entry: LogEntry): string {
  try {
    return JSON.stringify(entry);
  } catch {
    return JSON.stringify({ id: entry.id, time: entry.time, level: entry.level, msg: entry.msg, unserializable: true });
  }
}

function whole(name: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 1 || value > max) throw new RangeError(`${name} must be a whole number from 1 to ${max}, got ${value}`);
  return value;
}
