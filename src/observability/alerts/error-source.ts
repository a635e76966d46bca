import type { ErrorFilter } from "./types.ts";

/** The latest error matching a filter, as a notification shows it (`{{message}}`, `{{fingerprint}}`). */
export interface ErrorSample {
  readonly fingerprint: string;
  readonly name: string;
  readonly message: string;
  readonly at: number;
  readonly class?: string;
  readonly agent?: string;
  readonly traceId?: string;
}

/**
 * Where error rules read errors from. The problems store (`ProblemStore` of
 * `hearth/observability/store`) is the one Hearth passes: it fingerprints the errors of the log (and,
 * if asked, of the `agents:*` failure events) and answers these three methods.
 * @example
 * const problems = new ProblemStore();
 * problems.observe(logs);
 * const alerts = new AlertEngine({ path, errors: problems }); // a ProblemStore is an ErrorSource
 */
export interface ErrorSource {
  /** Errors matching `filter` recorded at or after `sinceMs`. */
  countSince(filter: ErrorFilter, sinceMs: number): number;
  /** The same, counted per fingerprint. */
  countByFingerprintSince(filter: ErrorFilter, sinceMs: number): Map<string, number>;
  /** The latest error matching `filter` (to show its message in a notification). */
  sample(filter: ErrorFilter): ErrorSample | undefined;
}
