import { compareKeys, compileListOptions, decodeValue, encodeValue, type KvListOptions, type ListQuery } from "./kv-table.ts";
import { checkEntrySize, checkKeyCount, checkKeySize } from "./storage-limits.ts";

// The options below are accepted and change nothing. Hearth runs each object in one process on a
// synchronous SQLite connection: a read never waits, so there is no I/O for `allowConcurrency` to
// let other events past and no cache for `noCache` to bypass; and the output gate already holds every
// reply and message until the writes before it are committed, which is what `allowUnconfirmed` would
// relax — `sync()` is there for code that waits on it explicitly.

/** Options of `get`. Accepted for compatibility; they change nothing on Hearth. */
export interface DurableObjectGetOptions {
  allowConcurrency?: boolean;
  noCache?: boolean;
}

/** Options of `put`, `delete` and `deleteAll`. Accepted for compatibility; they change nothing on Hearth. */
export interface DurableObjectPutOptions {
  allowConcurrency?: boolean;
  allowUnconfirmed?: boolean;
  noCache?: boolean;
}

/** Options of `list`: the range (`start` or `startAfter`, `end`, `prefix`), `reverse`, `limit`. */
export interface DurableObjectListOptions extends KvListOptions, DurableObjectGetOptions {}

/** Options of `getAlarm`. Accepted for compatibility. */
export interface DurableObjectGetAlarmOptions {
  allowConcurrency?: boolean;
}

/** Options of `setAlarm` and `deleteAlarm`. Accepted for compatibility. */
export interface DurableObjectSetAlarmOptions {
  allowConcurrency?: boolean;
  allowUnconfirmed?: boolean;
}

/** Where the operations land: the object's database (inside a transaction's savepoint while one is open). */
export interface KvTarget {
  /** A stored value, serialized. */
  read(key: string): Uint8Array | undefined;
  /** Entries of a list in its order, values serialized. */
  list(query: ListQuery): Array<[string, Uint8Array]>;
  write(key: string, value: Uint8Array): void;
  /** True when the key existed. */
  remove(key: string): boolean;
  getAlarm(): number | null;
  setAlarm(scheduledTime: number): void;
  deleteAlarm(): void;
  /** Runs `fn` so that its writes happen all together or not at all. */
  batch<T>(fn: () => T): T;
}

/**
 * The key-value and alarm operations shared by `ctx.storage` and a transaction's `txn`, with
 * Cloudflare's argument forms, limits and error texts. Storage is synchronous here, so every
 * promise is already settled when it is returned; a bad argument gives a rejected promise, as
 * workerd's methods do.
 */
export abstract class StorageOperations {
  /** The target of operation `op` (named as in errors, e.g. "put()"); throws when there is none. */
  protected abstract target(op: string): KvTarget;

  /** Runs an operation now: its result or error as a settled promise. */
  protected run<T>(fn: () => T): Promise<T> {
    return settle(fn);
  }

  get<T = unknown>(key: string, options?: DurableObjectGetOptions): Promise<T | undefined>;
  get<T = unknown>(keys: string[], options?: DurableObjectGetOptions): Promise<Map<string, T>>;
  get<T = unknown>(keys: string | string[], _options?: DurableObjectGetOptions): Promise<T | undefined | Map<string, T>> {
    return this.run(() => {
      const target = this.target("get()");
      if (typeof keys === "string") {
        const value = target.read(keys);
        return value === undefined ? undefined : decodeValue<T>(value);
      }
      const found: Array<[string, Uint8Array]> = [];
      for (const key of keyList("get", keys)) {
        const value = target.read(key);
        if (value !== undefined) found.push([key, value]);
      }
      found.sort(([a], [b]) => compareKeys(a, b));
      return new Map(found.map(([key, value]) => [key, decodeValue<T>(value)]));
    });
  }

  put<T>(key: string, value: T, options?: DurableObjectPutOptions): Promise<void>;
  put<T>(entries: Record<string, T>, options?: DurableObjectPutOptions): Promise<void>;
  put(keyOrEntries: string | Record<string, unknown>, value?: unknown, _options?: DurableObjectPutOptions): Promise<void> {
    return this.run(() => {
      const target = this.target("put()");
      if (typeof keyOrEntries === "string") {
        if (value === undefined) throw new TypeError("put() called with undefined value.");
        target.write(keyOrEntries, encodeEntry(keyOrEntries, value));
        return;
      }
      if (typeof keyOrEntries !== "object" || keyOrEntries === null || Array.isArray(keyOrEntries)) {
        throw new TypeError(`put(): the first argument is a key (string) or an object of entries, got ${describe(keyOrEntries)}`);
      }
      if (value !== undefined && (typeof value !== "object" || value === null)) {
        throw new TypeError(
          "put() may only be called with a single key-value pair and optional options as put(key, value, options) or with multiple key-value pairs and optional options as put(entries, options)",
        );
      }
      const entries = Object.entries(keyOrEntries);
      checkKeyCount(entries.length);
      // Every entry is serialized and checked before the first is written: a refused batch stores
      // nothing. Like workerd, entries whose value is undefined are skipped.
      const encoded = entries.filter(([, entry]) => entry !== undefined).map(([key, entry]) => [key, encodeEntry(key, entry)] as const);
      target.batch(() => {
        for (const [key, bytes] of encoded) target.write(key, bytes);
      });
    });
  }

  delete(key: string, options?: DurableObjectPutOptions): Promise<boolean>;
  delete(keys: string[], options?: DurableObjectPutOptions): Promise<number>;
  delete(keys: string | string[], _options?: DurableObjectPutOptions): Promise<boolean | number> {
    return this.run(() => {
      const target = this.target("delete()");
      if (typeof keys === "string") return target.remove(keys);
      const list = keyList("delete", keys);
      return target.batch(() => list.reduce((count, key) => count + (target.remove(key) ? 1 : 0), 0));
    });
  }

  /** Entries in key order (UTF-8 bytes), descending with `reverse`. */
  list<T = unknown>(options?: DurableObjectListOptions): Promise<Map<string, T>> {
    return this.run(() => {
      const target = this.target("list()");
      const query = compileListOptions(options);
      return new Map(target.list(query).map(([key, value]) => [key, decodeValue<T>(value)]));
    });
  }

  /** The alarm's time in ms since the epoch, or null when none is set. */
  getAlarm(_options?: DurableObjectGetAlarmOptions): Promise<number | null> {
    return this.run(() => this.target("getAlarm()").getAlarm());
  }

  /**
   * Sets the alarm (one per object) to a `Date` or a time in ms since the epoch. A time already past
   * is stored as now, as workerd does: `getAlarm()` then returns about now, and the alarm runs at once.
   */
  setAlarm(scheduledTime: number | Date, _options?: DurableObjectSetAlarmOptions): Promise<void> {
    return this.run(() => {
      const time = alarmTime(scheduledTime);
      this.target("setAlarm()").setAlarm(time);
    });
  }

  deleteAlarm(_options?: DurableObjectSetAlarmOptions): Promise<void> {
    return this.run(() => this.target("deleteAlarm()").deleteAlarm());
  }
}

/** Runs `fn` now; its result or error as a settled promise. */
export function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (error) {
    return Promise.reject(error as Error);
  }
}

function encodeEntry(key: string, value: unknown): Uint8Array {
  checkKeySize(key);
  const bytes = encodeValue(value);
  checkEntrySize(key, bytes);
  return bytes;
}

function keyList(method: "get" | "delete", keys: unknown): string[] {
  if (!Array.isArray(keys)) throw new TypeError(`${method}(): the first argument is a key (string) or an array of keys, got ${describe(keys)}`);
  checkKeyCount(keys.length);
  for (const key of keys) {
    if (typeof key !== "string") throw new TypeError(`${method}(): keys are strings, got ${describe(key)}`);
  }
  return keys as string[];
}

/**
 * The latest alarm time, exclusive, in ms since the epoch: workerd holds times as 64-bit signed
 * nanoseconds (up to April 2262) and refuses later ones, with a message that says 2189.
 */
export const ALARM_TIME_LIMIT_MS = 2 ** 63 / 1e6;

/** A `Date` or a number of ms since the epoch, as whole ms; workerd's errors otherwise. */
function alarmTime(scheduledTime: unknown): number {
  const time = scheduledTime instanceof Date ? scheduledTime.getTime() : typeof scheduledTime === "number" ? scheduledTime : NaN;
  if (!Number.isFinite(time)) {
    throw new TypeError("Failed to execute 'setAlarm' on 'DurableObjectStorage': parameter 1 is not of type 'date'.");
  }
  if (time >= ALARM_TIME_LIMIT_MS) throw new TypeError("This API doesn't support dates after 2189.");
  const ms = Math.trunc(time);
  if (ms <= 0) throw new TypeError("setAlarm() cannot be called with an alarm time <= 0");
  return ms;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}
