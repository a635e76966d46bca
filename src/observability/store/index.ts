/**
 * The inspector's local store: recent and retained log records with filtered pages and a live tail,
 * and errors grouped into problems by fingerprint.
 * @example
 * import { LogStore, ProblemStore } from "hearth/observability/store";
 * const logs = new LogStore({ path: ".hearth/observability/logs.sqlite" });
 * const problems = new ProblemStore();
 * problems.observe(logs);
 * const log = createLogger({ onRecord: logs.onRecord });
 * @packageDocumentation
 */
export { LogStore, DEFAULT_LOG_CAPACITY, DEFAULT_LOG_RING_BYTES, MAX_LOG_CAPACITY, type LogStoreOptions, type LogListener } from "./log-store.ts";
export { toLogEntry, searchText, parseLevel, type LogEntry } from "./log-entry.ts";
export { MAX_QUERY_TEXT, logQueryFromParams, type LogFilter, type LogQuery } from "./log-query.ts";
export { DEFAULT_LOG_RETENTION, type LogRetention } from "./log-table.ts";
export { DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT, type Page } from "./page.ts";
export {
  ProblemStore,
  DEFAULT_MAX_FINGERPRINTS,
  MAX_FINGERPRINTS,
  MAX_REPLAY,
  type Problem,
  type ProblemFilter,
  type ProblemStoreOptions,
  type ErrorOccurrence,
  type ErrorSampleView,
} from "./problems.ts";
export { fingerprintOf, normaliseMessage, topUserFrame, MAX_FINGERPRINT_MESSAGE } from "./fingerprint.ts";
export { BUCKET_MS, BUCKETS, COARSE_BUCKET_MS, COARSE_BUCKETS, COUNT_LOOK_BACK_MS } from "./error-buckets.ts";
export { MAX_CLASSES_PER_PROBLEM } from "./class-counts.ts";
export { MAX_PROBLEM_NAME_CHARS, MAX_PROBLEM_TEXT_CHARS } from "./problem-text.ts";
