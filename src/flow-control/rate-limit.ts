import { currentScope, getCurrentAgent } from "../agent/context.ts";
import type { AgentRuntime } from "../agent/runtime.ts";
import type { Clock } from "../time/clock.ts";
import { RateLimitedError } from "./errors.ts";
import { FLOW_CONTROL_LIMITS } from "./limits.ts";
import { checkOptionNames, durationOption, integerOption, keyOption } from "./options.ts";
import { RateLimitCounter, type SqlExecutor } from "./rate-limit-counter.ts";
import { callStart, clockOf, invoke } from "./runtime.ts";
import type { FlowControl, KeyOf, RunOptions, Work } from "./types.ts";

export type { SqlExecutor } from "./rate-limit-counter.ts";

/** A Rate Limiting binding (`env.MY_LIMITER`): Cloudflare's, Miniflare's or Hearth's `RateLimiter`. */
export interface RateLimitBinding {
  limit(options: { key: string }): Promise<{ success: boolean }>;
}

/** {@link rateLimit} through a Rate Limiting binding: counts live where the binding keeps them. */
export interface RateLimitBindingOptions<I> {
  /** The binding, e.g. `env.API_LIMITER`. */
  limiter: RateLimitBinding;
  /** What is counted: a string, or a function of the input (the user id…). Default: one key for all. */
  key?: KeyOf<I>;
  /**
   * The binding's `simple.period` in seconds (10 or 60; default 60). A binding counts in fixed windows
   * aligned to the clock, so `retryAfterMs` is the time left in the window.
   */
  periodSeconds?: 10 | 60;
  /** Time source for `retryAfterMs`; default the running agent's clock, else the system clock. */
  clock?: Clock;
}

/** {@link rateLimit} with a durable counter in the agent's own SQLite (a token bucket per key). */
export interface RateLimitCounterOptions<I> {
  /** Calls per key per `periodMs`: an integer from 1 to 100,000. */
  limit: number;
  /** The period, in ms: 1 ms to 7 days. */
  periodMs: number;
  /** What is counted: a string, or a function of the input (the user id…). Default: one key for all. */
  key?: KeyOf<I>;
  /** Counters with the same name in one agent share their counts; default "default". At most 1,024 characters. */
  name?: string;
  /** Where the counts live; default the running agent's `ctx.storage.sql`. */
  storage?: SqlExecutor;
  /** Time source; default the running agent's clock, else the system clock. */
  clock?: Clock;
}

/** Options of {@link rateLimit}: a binding, or `limit` and `periodMs` for a counter in the agent's SQLite. */
export type RateLimitControlOptions<I> = RateLimitBindingOptions<I> | RateLimitCounterOptions<I>;

const BINDING_KNOWN = ["limiter", "key", "periodSeconds", "clock"] as const;
const COUNTER_KNOWN = ["limit", "periodMs", "key", "name", "storage", "clock"] as const;

/**
 * Drops the excess: a call over the limit is refused at once with {@link RateLimitedError} (never
 * queued), whose `retryAfterMs` says when to try again; {@link toResponse} answers it with HTTP 429 and
 * `Retry-After`. Counts are durable: kept by the binding, or in the agent's SQLite, so a restart does
 * not reset them.
 *
 * @example
 * // Through the binding declared in wrangler.jsonc ("ratelimits": [{ "name": "API_LIMITER", … }]).
 * const perUser = rateLimit<Request>({ limiter: env.API_LIMITER, key: (r) => r.headers.get("x-user") ?? "" });
 * // Or a counter in the agent's SQLite: 10 calls at once, then one every 6 s.
 * const perUserToo = rateLimit<Request>({ limit: 10, periodMs: 60_000, key: (r) => r.headers.get("x-user") ?? "" });
 */
export function rateLimit<I = unknown>(options: RateLimitControlOptions<I>): FlowControl<I> {
  if (typeof options === "object" && options !== null && "limiter" in options) return bindingRateLimit(options);
  return counterRateLimit(options);
}

function bindingRateLimit<I>(options: RateLimitBindingOptions<I>): FlowControl<I> {
  checkOptionNames("rateLimit", options, BINDING_KNOWN);
  const { limiter } = options;
  if (typeof limiter?.limit !== "function") throw new TypeError("rateLimit: limiter must be a Rate Limiting binding (an object with limit({ key }))");
  const periodSeconds = options.periodSeconds ?? 60;
  if (periodSeconds !== 10 && periodSeconds !== 60) throw new RangeError(`rateLimit: periodSeconds must be 10 or 60, got ${String(periodSeconds)}`);
  const periodMs = periodSeconds * 1000;
  const keyOf = keyOption("rateLimit", options.key);
  return {
    kinds: ["rateLimit"],
    async run<T>(input: I, work: Work<I, T>, runOptions: RunOptions = {}): Promise<T> {
      const { key, signal } = callStart(keyOf, input, runOptions);
      const { success } = await limiter.limit({ key });
      if (!success) {
        const now = clockOf(options.clock).now();
        throw new RateLimitedError(key, periodMs - (((now % periodMs) + periodMs) % periodMs));
      }
      return invoke(work, input, signal);
    },
  };
}

function counterRateLimit<I>(options: RateLimitCounterOptions<I>): FlowControl<I> {
  checkOptionNames("rateLimit", options, COUNTER_KNOWN);
  const limit = integerOption("rateLimit", "limit", options.limit, 1, FLOW_CONTROL_LIMITS.maxLimit);
  const periodMs = durationOption("rateLimit", "periodMs", options.periodMs);
  const name = options.name ?? "default";
  if (typeof name !== "string" || name === "" || name.length > FLOW_CONTROL_LIMITS.maxKeyLength) {
    throw new TypeError(`rateLimit: name must be a non-empty string of at most ${FLOW_CONTROL_LIMITS.maxKeyLength} characters`);
  }
  const keyOf = keyOption("rateLimit", options.key);
  const counters = new WeakMap<SqlExecutor, RateLimitCounter>();
  const rule = `${limit} per ${periodMs} ms`;
  return {
    kinds: ["rateLimit"],
    async run<T>(input: I, work: Work<I, T>, runOptions: RunOptions = {}): Promise<T> {
      const { key, signal } = callStart(keyOf, input, runOptions);
      const { sql, commit } = counterStorage(options.storage);
      let counter = counters.get(sql);
      if (counter === undefined) counters.set(sql, (counter = new RateLimitCounter(sql, name, limit, periodMs)));
      const retryAfterMs = counter.take(key, clockOf(options.clock).now());
      if (retryAfterMs > 0) throw new RateLimitedError(key, retryAfterMs, rule);
      // The admitted call is counted for good before its work runs: were the count left in the event's
      // transaction, work that fails would undo it, and failing calls would never be limited.
      commit?.();
      return invoke(work, input, signal);
    },
  };
}

/**
 * Where the counter's rows go, and — when that is the running agent's own database — how to commit
 * them at once. A Hearth agent's writes join its event's implicit transaction, which is rolled back
 * if the event fails; committing right after the take (with whatever the event wrote before it, as a
 * fiber's checkpoint does) keeps the count. Not inside a `transactionSync()` block, which a commit
 * would break; inside a `ctx.storage.transaction()` closure the commit waits for the closure's end
 * (the database defers it), so the count goes with the closure if it is undone.
 */
function counterStorage(given: SqlExecutor | undefined): { sql: SqlExecutor; commit: (() => void) | undefined } {
  const agent = getCurrentAgent<{ ctx?: { storage?: { sql?: SqlExecutor } } }>().agent;
  const own = agent?.ctx?.storage?.sql;
  const sql = given ?? own;
  if (sql === undefined) {
    throw new Error("rateLimit: no storage for the counter: pass `storage` (ctx.storage.sql) or call run() from inside an agent's event");
  }
  const db = sql === own ? (currentScope()?.runtime as Partial<AgentRuntime> | undefined)?.db : undefined;
  if (db === undefined || typeof db.flush !== "function") return { sql, commit: undefined };
  return {
    sql,
    commit: () => {
      if (!db.inTransactionSync) db.flush();
    },
  };
}
