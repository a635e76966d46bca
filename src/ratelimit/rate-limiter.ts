import type { CounterFile, WindowCounters } from "./counter-file.ts";
import { checkCall, checkPeriod, type RateLimitOptions } from "./options.ts";
import { counterFileOf, type RateLimitStore } from "./store.ts";

/** A binding's configuration: wrangler's `ratelimits[]` entry (`namespace_id` and `simple`). */
export interface RateLimiterConfig {
  /** Limiters with the same namespace id share their counts (the limit is not part of the count). */
  namespaceId: string;
  /** Calls allowed per key and window. */
  limit: number;
  /** The window, in seconds: 10 or 60. */
  period: number;
}

/** `limit()`'s answer. */
export interface RateLimitOutcome {
  success: boolean;
}

/**
 * The Rate Limiting binding (`env.MY_LIMITER`) with the semantics of Cloudflare's local implementation:
 * fixed windows aligned to the wall clock (`floor(now / (period * 1000))`), one count per namespace id,
 * key and period; once a key's count reaches the limit, further calls in the window get
 * `{ success: false }` and are not counted. Exact on one machine; counts are kept in memory and written
 * to the store's file in batches, so a restart within a window keeps them.
 *
 * @example
 * const limiter = new RateLimiter(store, { namespaceId: "1001", limit: 100, period: 60 });
 * const { success } = await limiter.limit({ key: userId });
 * if (!success) return new Response("Too many requests", { status: 429 });
 */
export class RateLimiter {
  readonly #store: RateLimitStore;
  readonly #namespaceId: string;
  readonly #limit: number;
  readonly #period: number;
  #file: CounterFile | undefined;
  #counters: WindowCounters | undefined;

  constructor(store: RateLimitStore, config: RateLimiterConfig) {
    const { namespaceId, limit, period } = config;
    if (typeof namespaceId !== "string" || namespaceId === "") {
      throw new TypeError(`RateLimiter: namespaceId must be a non-empty string, got ${JSON.stringify(namespaceId)}`);
    }
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`RateLimiter: limit must be a positive integer, got ${limit}`);
    checkPeriod(period);
    this.#store = store;
    this.#namespaceId = namespaceId;
    this.#limit = limit;
    this.#period = period;
    counterFileOf(store); // a closed or foreign store fails here, not on the first call
  }

  /** Counts one call for `key`; `{ success: false }` (not counted) once the key reached the limit in this window. */
  limit(options: RateLimitOptions): Promise<RateLimitOutcome> {
    try {
      const { key, limit, period } = checkCall(options, this.#limit, this.#period);
      const file = this.#fileOrThrow();
      const counters = period === this.#period ? (this.#counters ??= file.windowFor(this.#namespaceId, period)) : file.windowFor(this.#namespaceId, period);
      const epoch = Math.floor(file.clock.now() / (period * 1000));
      if (epoch !== counters.epoch) counters.reset(epoch);
      const count = counters.counts.get(key) ?? 0;
      if (count >= limit) return Promise.resolve({ success: false });
      counters.counts.set(key, count + 1);
      file.changed(counters, key);
      return Promise.resolve({ success: true });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #fileOrThrow(): CounterFile {
    const file = this.#file;
    if (file !== undefined && file.isOpen && !this.#store.closed) return file;
    this.#file = counterFileOf(this.#store);
    this.#counters = undefined;
    return this.#file;
  }
}
