import { join } from "node:path";
import type { RateLimitConfig } from "../../config/types.ts";
import { openRateLimitStore, RateLimiter, type RateLimitOptions, type RateLimitOutcome } from "../../ratelimit/index.ts";
import { checkCall } from "../../ratelimit/options.ts";
import { heldObjects, remoteCaller, type HeldFiles, type ServiceShard } from "./held.ts";

/** The service kind of rate limiters; a call names the binding. */
export const RATE_LIMIT_SERVICE = "~ratelimit";

/** What `env.<LIMITER>` is: `limit({ key })`. */
export interface RateLimitBinding {
  limit(options: RateLimitOptions): Promise<RateLimitOutcome>;
}

/** A project's rate limiters and what closes their file. */
export interface RateLimitBindings {
  bindings: Record<string, RateLimitBinding>;
  close(): void;
}

/**
 * Rate limiters shared by the threads of one process: the first thread keeps the counters (in
 * `ratelimit.sqlite`, as one thread would) and counts every thread's calls, so a limit of 100 a
 * minute is 100 a minute for the process, not per thread; the other threads ask it.
 * @example
 * const { bindings } = threadRateLimits(shard, { dataDir, durability: "relaxed", clock: systemClock })(config.rateLimits);
 * const { success } = await bindings.LOGIN_LIMIT!.limit({ key: userId });
 */
export function threadRateLimits(shard: ServiceShard, files: HeldFiles): (limits: readonly RateLimitConfig[]) => RateLimitBindings {
  if (!shard.holdsServices) {
    return (limits) => ({
      bindings: Object.fromEntries(limits.map((limit) => [limit.name, remoteLimiter(shard, limit)])),
      close: () => undefined,
    });
  }
  return (limits) => {
    const store = openRateLimitStore(join(files.dataDir, "ratelimit.sqlite"), { clock: files.clock, durability: files.durability });
    const limiters = new Map(limits.map((limit) => [limit.name, new RateLimiter(store, limit)]));
    shard.serve(RATE_LIMIT_SERVICE, heldObjects(limiters, ["limit"], "rate limiter"));
    return { bindings: Object.fromEntries(limiters), close: () => store.close() };
  };
}

/**
 * A limiter another thread counts for. The options are checked here first, as the counting thread
 * checks them: options that cannot cross threads (a function, a symbol) get the binding's own error,
 * not the structured clone's.
 */
function remoteLimiter(shard: ServiceShard, config: RateLimitConfig): RateLimitBinding {
  const call = remoteCaller(shard, RATE_LIMIT_SERVICE, config.name);
  return {
    limit: (options) => {
      try {
        checkCall(options, config.limit, config.period);
      } catch (error) {
        return Promise.reject(error);
      }
      return call<RateLimitOutcome>("limit", options);
    },
  };
}
