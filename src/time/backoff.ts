/** How often and how patiently to retry a failing operation. */
export interface RetryOptions {
  /** Attempts in total, including the first one (so 1 means no retry). Integer from 1 to 1000. */
  maxAttempts?: number;
  /** Delay before the first retry, in milliseconds; it doubles with every further failure. */
  baseDelayMs?: number;
  /** Upper bound for the delay between attempts, in milliseconds. At least `baseDelayMs` (after defaults are applied). */
  maxDelayMs?: number;
}

/** Three attempts, 100 ms then 200 ms apart (with jitter), never more than 3 s. */
export const DEFAULT_RETRY: Required<RetryOptions> = Object.freeze({ maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 3000 });

const KEYS: ReadonlyArray<keyof RetryOptions> = ["maxAttempts", "baseDelayMs", "maxDelayMs"];
const MAX_ATTEMPTS = 1000;

/**
 * Fills in defaults and validates retry options eagerly, so a mistake shows up where the options are
 * given rather than at the first failure. Fields are checked after merging with the defaults (as in
 * the Agents SDK): a `baseDelayMs` above the default `maxDelayMs` is refused unless `maxDelayMs` is
 * raised with it. Messages start with the Agents SDK's wording. Unlike it, a delay of 0 is allowed
 * (immediate retries, handy in tests), and `maxAttempts` is capped at 1000.
 *
 * @throws TypeError for unknown keys or non-numbers; RangeError for numbers out of range
 * @example
 * resolveRetry({ maxAttempts: 5 }); // { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 3000 }
 * resolveRetry({ maxAttempts: 0 }); // RangeError: retry.maxAttempts must be >= 1, got 0
 * resolveRetry({ baseDelayMs: 5000 }); // RangeError: retry.baseDelayMs must be <= retry.maxDelayMs (5000 > 3000)
 */
export function resolveRetry(options: RetryOptions | undefined, defaults: Required<RetryOptions> = DEFAULT_RETRY): Required<RetryOptions> {
  if (options === undefined) return { ...defaults };
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`retry must be an object with ${KEYS.join(", ")}, got ${show(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      throw new TypeError(`retry has an unknown option ${JSON.stringify(key)}; expected ${KEYS.join(", ")}`);
    }
  }
  // Only `undefined` means "not given": a null is a mistake worth reporting.
  const maxAttempts = options.maxAttempts === undefined ? defaults.maxAttempts : options.maxAttempts;
  const baseDelayMs = options.baseDelayMs === undefined ? defaults.baseDelayMs : options.baseDelayMs;
  const maxDelayMs = options.maxDelayMs === undefined ? defaults.maxDelayMs : options.maxDelayMs;

  checkNumber("maxAttempts", maxAttempts);
  if (!(maxAttempts >= 1)) throw new RangeError(`retry.maxAttempts must be >= 1, got ${show(maxAttempts)}`);
  if (!Number.isInteger(maxAttempts)) throw new RangeError(`retry.maxAttempts must be an integer, got ${show(maxAttempts)}`);
  if (maxAttempts > MAX_ATTEMPTS) throw new RangeError(`retry.maxAttempts must be <= ${MAX_ATTEMPTS}, got ${show(maxAttempts)}`);
  checkNumber("baseDelayMs", baseDelayMs);
  if (!Number.isFinite(baseDelayMs) || baseDelayMs < 0) {
    throw new RangeError(`retry.baseDelayMs must be a finite number >= 0, got ${show(baseDelayMs)}`);
  }
  checkNumber("maxDelayMs", maxDelayMs);
  if (!Number.isFinite(maxDelayMs) || maxDelayMs < 0) {
    throw new RangeError(`retry.maxDelayMs must be a finite number >= 0, got ${show(maxDelayMs)}`);
  }
  if (baseDelayMs > maxDelayMs) {
    throw new RangeError(`retry.baseDelayMs must be <= retry.maxDelayMs (${baseDelayMs} > ${maxDelayMs})`);
  }
  return { maxAttempts, baseDelayMs, maxDelayMs };
}

/**
 * Delay before the next attempt, after `failedAttempts` failures (1 for the first): exponential with
 * jitter. With d = min(maxDelayMs, baseDelayMs × 2^(failedAttempts − 1)), the result is uniform in
 * [d/2, d], rounded to whole milliseconds. The jitter keeps many retrying callers from moving in step.
 *
 * @param random - source of randomness in [0, 1), replaceable for tests
 * @example
 * backoffDelay(1, DEFAULT_RETRY); // 50..100
 * backoffDelay(3, DEFAULT_RETRY); // 200..400
 * backoffDelay(9, DEFAULT_RETRY); // 1500..3000 (capped)
 */
export function backoffDelay(failedAttempts: number, retry: Required<RetryOptions>, random: () => number = Math.random): number {
  if (!Number.isInteger(failedAttempts) || failedAttempts < 1) {
    throw new RangeError(`backoffDelay: failedAttempts must be an integer >= 1, got ${show(failedAttempts)}`);
  }
  // 2 ** n is Infinity for large n; with baseDelayMs = 0 that would make NaN, so treat 0 apart.
  const delay = retry.baseDelayMs === 0 ? 0 : Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (failedAttempts - 1));
  const jitter = Math.min(1, Math.max(0, random()));
  return Math.round(delay / 2 + (jitter * delay) / 2);
}

function checkNumber(field: keyof RetryOptions, value: unknown): asserts value is number {
  if (typeof value !== "number") throw new TypeError(`retry.${field} must be a number, got ${show(value)}`);
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null || typeof value !== "object") return String(value);
  return Array.isArray(value) ? "an array" : "an object";
}
