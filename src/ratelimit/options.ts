/** The periods Cloudflare supports, in seconds. */
export const RATE_LIMIT_PERIODS: readonly number[] = [10, 60];

/** What `limit()` accepts. `limit` and `period` are undocumented per-call overrides Miniflare accepts too. */
export interface RateLimitOptions {
  /** What is counted: a user id, an API key, a route… Default "". */
  key?: string;
  limit?: number;
  period?: number;
}

const OPTION_NAMES: ReadonlySet<string> = new Set(["key", "limit", "period"]);

/** A call's options, checked with the texts of Miniflare's rate limiter (wrangler dev). */
export interface CheckedCall {
  key: string;
  limit: number;
  period: number;
}

export function checkCall(options: unknown, defaultLimit: number, defaultPeriod: number): CheckedCall {
  if (typeof options !== "object" || options === null) throw new Error("invalid rate limit options");
  let unknown: string[] | undefined;
  for (const name in options) {
    if (!OPTION_NAMES.has(name) && Object.hasOwn(options, name)) (unknown ??= []).push(name);
  }
  if (unknown !== undefined) throw new Error(`bad rate limit options: [${unknown.join(",")}]`);
  const { key = "", limit = defaultLimit, period = defaultPeriod } = options as RateLimitOptions;
  if (typeof key !== "string") throw new Error(`invalid key: ${String(key)}`);
  if (typeof limit !== "number") throw new Error(`limit must be a number: ${String(limit)}`);
  if (typeof period !== "number") throw new Error(`period must be a number: ${String(period)}`);
  checkPeriod(period);
  return { key, limit, period };
}

export function checkPeriod(period: number): void {
  if (period !== 10 && period !== 60) throw new Error(`unsupported period: ${period}`);
}
