/**
 * What the inspector reads, declared structurally: the core never imports the inspector, and the
 * inspector needs only these few methods of each store. A section whose source is missing answers
 * 404 `not_enabled` (see docs/inspector/api.md).
 */
import type { Host } from "../platform/host.ts";

/** A page of a list, as the API answers it. */
export interface SourcePage<T> {
  items: T[];
  next: string | null;
}

/** Query parameters passed through to a store as the API received them (cursor and limit included). */
export type SourceQuery = Record<string, string | number | boolean | undefined>;

/** Prometheus metrics: the registry (or `createHearthMetrics(...)`) the host exposes at `/metrics`. */
export interface MetricsSource {
  /**
   * The Prometheus text exposition. The inspector's own reads pass `scrape: false`: a registry whose
   * values cover "since the previous scrape" must not start a new interval for them.
   */
  expose(options?: { scrape?: boolean }): string;
}

/** What a test notification of an alert rule did. */
export interface AlertTestOutcome {
  delivered: boolean;
  status: number | null;
  error?: string;
}

/** Spans kept locally (src/observability/traces). */
export interface SpanSource {
  /** Trace summaries, newest first, filtered by the query (`class`, `agent`, `conversation`, `model`, `error`, …). */
  list(query: SourceQuery): SourcePage<Record<string, unknown>> | Promise<SourcePage<Record<string, unknown>>>;
  /** One trace with its spans; undefined when it is not (or no longer) kept. */
  get(traceId: string): { traceId: string; spans: unknown[] } | undefined | Promise<{ traceId: string; spans: unknown[] } | undefined>;
  /** Calls `listener` with every span as it ends; returns the unsubscribe function. */
  subscribe?(listener: (span: Record<string, unknown>) => void): () => void;
}

/** Structured logs kept locally (src/observability/store). */
export interface LogSource {
  /** Log entries, newest first (`level`, `class`, `agent`, `traceId`, `q`, `since`, `cursor`, `limit`). */
  query(query: SourceQuery): SourcePage<Record<string, unknown>> | Promise<SourcePage<Record<string, unknown>>>;
  /** Calls `listener` with every new entry; returns the unsubscribe function. */
  subscribe?(listener: (entry: Record<string, unknown>) => void): () => void;
}

/** Errors grouped by fingerprint, for the overview. */
export interface ProblemSource {
  /** The most recent problems first. */
  list(limit: number): Array<Record<string, unknown>> | Promise<Array<Record<string, unknown>>>;
}

/** Alert rules, their state and silences (src/observability/alerts). */
export interface AlertSource {
  snapshot(): { rules: unknown[]; silences: unknown[] } | Promise<{ rules: unknown[]; silences: unknown[] }>;
  history(query: SourceQuery): SourcePage<unknown> | Promise<SourcePage<unknown>>;
  addRule(rule: Record<string, unknown>): { id: string } | Promise<{ id: string }>;
  /** False when there was no such rule. */
  removeRule(id: string): boolean | Promise<boolean>;
  /** Sends a test notification: `status` is the HTTP status of the first failing contact point (else the last), null when none answered; `error` says why the first failing one failed. */
  test(id: string): AlertTestOutcome | Promise<AlertTestOutcome>;
  addSilence(silence: Record<string, unknown>): { id: string } | Promise<{ id: string }>;
  removeSilence(id: string): boolean | Promise<boolean>;
  /** Contact points as shown to people: a URL's origin only, header names only (they may hold secrets). */
  listContactPoints?(): unknown[] | Promise<unknown[]>;
  /** Adds (or with `replace`, replaces) a contact point; refuses bad input with a message naming the field. */
  addContactPoint?(contactPoint: Record<string, unknown>, replace: boolean): { name: string } | Promise<{ name: string }>;
  /** False when there was no such contact point; refuses one a rule still uses. */
  removeContactPoint?(name: string): boolean | Promise<boolean>;
}

/** Every agent instance by class, with search (src/host/catalog.ts). */
export interface CatalogSource {
  /** Instances of a class (or of every class), `q` matching a name prefix or substring. */
  list(query: { class?: string; q?: string; cursor?: string; limit: number }):
    | SourcePage<{ class: string; name: string; lastActiveAt?: number | null; sizeBytes?: number | null }>
    | Promise<SourcePage<{ class: string; name: string; lastActiveAt?: number | null; sizeBytes?: number | null }>>;
  /** How many instances each class has. */
  countByClass?(): Array<{ class: string; total: number }>;
}

/** Everything the inspector reads. Only `host` is required. */
export interface InspectorSources {
  host: Host;
  metrics?: MetricsSource;
  spans?: SpanSource;
  logs?: LogSource;
  problems?: ProblemSource;
  alerts?: AlertSource;
  catalog?: CatalogSource;
}
