import type { Durability } from "../limits.ts";
import { SharedFiles } from "../storage/shared-files.ts";
import { systemClock, type Clock } from "../time/clock.ts";
import { CounterFile } from "./counter-file.ts";

/** Options of {@link openRateLimitStore}. */
export interface RateLimitStoreOptions {
  /** Time source for the windows; default the system clock. Tests pass a `VirtualClock`. */
  clock?: Clock;
  /** `synchronous` setting of the file: `"relaxed"` (default) or `"strict"`. */
  durability?: Durability;
  /** Longest time a changed count waits in memory before it is written, ms; default 10. */
  flushIntervalMs?: number;
}

const DEFAULT_FLUSH_INTERVAL_MS = 10;
const files = new SharedFiles<CounterFile>();
let fileOfStore: (store: RateLimitStore) => CounterFile;

/**
 * The rate limit counters of a data directory (one SQLite file), shared by every {@link RateLimiter}
 * created on it. Opening the same path twice in a process shares one open file (reference counted).
 *
 * @example
 * const store = openRateLimitStore(".hearth/ratelimit.sqlite");
 * const limiter = new RateLimiter(store, { namespaceId: "1001", limit: 100, period: 60 });
 * const { success } = await limiter.limit({ key: "user:42" });
 * store.close();
 */
export class RateLimitStore {
  readonly path: string;
  readonly #file: CounterFile;
  #closed = false;

  static {
    fileOfStore = (store) => store.#file;
  }

  /** Use {@link openRateLimitStore}. */
  constructor(path: string, options: RateLimitStoreOptions = {}) {
    const clock = options.clock ?? systemClock;
    const durability = options.durability ?? "relaxed";
    const flushIntervalMs = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
    if (!(flushIntervalMs >= 0 && Number.isFinite(flushIntervalMs))) {
      throw new RangeError(`openRateLimitStore: flushIntervalMs must be a finite number of ms ≥ 0, got ${flushIntervalMs}`);
    }
    this.path = path;
    const file = files.acquire(
      path,
      (resolved) => new CounterFile(resolved, clock, durability, flushIntervalMs),
      (open) => {
        if (open.clock !== clock) throw new Error(`Rate limit store ${path} is already open with another clock`);
        if (open.durability !== durability) {
          throw new Error(`Rate limit store ${path} is already open with durability "${open.durability}", not "${durability}"`);
        }
      },
    );
    this.#file = file;
  }

  /** Writes the counts that changed since the last write, now. */
  flush(): void {
    if (!this.closed) this.#file.flush();
  }

  /** Lets go of the store; the file is written and closed when the last holder closes. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (files.release(this.path, this.#file)) this.#file.close();
  }

  get closed(): boolean {
    return this.#closed || !this.#file.isOpen;
  }
}

/** The open file behind a store (for {@link RateLimiter}); throws once the store is closed. */
export function counterFileOf(store: RateLimitStore): CounterFile {
  if (!(store instanceof RateLimitStore)) throw new TypeError("RateLimiter: the store must come from openRateLimitStore()");
  const file = fileOfStore(store);
  if (store.closed) throw new Error(`Rate limit store ${store.path} is closed`);
  return file;
}

/**
 * The rate limit store in `path` (created if missing), sharing the open file with every other store of
 * this process that names it. Each call must be matched by a `close()`.
 *
 * @example
 * const store = openRateLimitStore("/var/lib/hearth/ratelimit.sqlite", { durability: "strict" });
 */
export function openRateLimitStore(path: string, options: RateLimitStoreOptions = {}): RateLimitStore {
  return new RateLimitStore(path, options);
}

/**
 * Writes and closes every rate limit store open in this process (host shutdown, tests).
 *
 * @example
 * closeAllRateLimitStores();
 */
export function closeAllRateLimitStores(): void {
  for (const file of files.takeAll()) file.close();
}
