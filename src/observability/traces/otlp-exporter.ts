import type { AttributeValue } from "@opentelemetry/api";
import { compileRedactor } from "../logs/redact.ts";
import { checkOtlpEndpoint, checkOtlpHeaders, withoutUserinfo } from "./otlp-check.ts";
import { toOtlpJson } from "./otlp-json.ts";
import { partialSuccessOf, type PartialSuccess } from "./otlp-response.ts";
import { retryAfterMs } from "../../web/retry-after.ts";
import { backoffMs, MAX_RETRY_DELAY_MS } from "./otlp-retry.ts";
import type { SpanRecord } from "./span-record.ts";
// Node's own timers, whatever a test's fake timers put on the global object, and whenever this module loads.
import { clearTimeout as realClearTimeout, setTimeout as realSetTimeout } from "node:timers";
import { holding } from "../../web/holding.ts";

/** Settings of the OTLP/HTTP JSON exporter. */
export interface OtlpExporterOptions {
  /** The full traces URL, e.g. "http://127.0.0.1:4318/v1/traces"; no user name or password (send an Authorization header). */
  endpoint: string;
  /** Sent with every POST; each must be sendable (an HTTP token name, a Latin-1 value), else the constructor throws. */
  headers?: Readonly<Record<string, string>>;
  resource?: Readonly<Record<string, AttributeValue>>;
  /** One POST's time limit. Default 10 s. */
  timeoutMs?: number;
  /** Spans waiting to be sent; new spans are dropped (and counted) while it is full. Default 2,048. */
  maxQueueSize?: number;
  /** Spans per POST. Default 512. */
  maxBatchSize?: number;
  /** A partial batch is sent this long after its first span. Default 5 s. */
  flushIntervalMs?: number;
  /** Retries of a batch after 429, 502, 503, 504 or a network error, before it is dropped. Default 5. */
  maxRetries?: number;
  /**
   * First retry delay, doubled each time, at most 30 s, with up to half of it taken off at random; a
   * `Retry-After` header (seconds or an HTTP-date, at most 30 s) wins. Default 1 s.
   */
  retryBaseMs?: number;
  /**
   * How long `shutdown()` and `flush()` wait for the collector. At this deadline `shutdown()` stops
   * retrying, aborts the POST in flight and drops what is left (one line says how many); `flush()`
   * returns, leaving the spans queued. Default 3 s.
   */
  shutdownTimeoutMs?: number;
  /** The fetch to use. Default globalThis.fetch. */
  fetch?: typeof fetch;
}

/** What the exporter did so far. */
export interface OtlpExporterStats {
  readonly queued: number;
  /** Spans the collector took. */
  readonly sent: number;
  /** Spans the collector answered for but refused (OTLP's `partialSuccess.rejectedSpans`). */
  readonly rejected: number;
  /** Spans never delivered: the queue was full, the batch failed, or shutdown's deadline passed. */
  readonly dropped: number;
  readonly failedBatches: number;
}

export const DEFAULT_OTLP_EXPORTER = { timeoutMs: 10_000, maxQueueSize: 2_048, maxBatchSize: 512, flushIntervalMs: 5_000, maxRetries: 5, retryBaseMs: 1_000, shutdownTimeoutMs: 3_000 } as const;
/** Lines about the same trouble (failed batches, refused spans, a full queue) are this far apart at least. */
const COMPLAINT_EVERY_MS = 60_000;
/** A collector's message is cut to this many characters in a line. */
const MAX_COLLECTOR_MESSAGE = 500;
const RETRYABLE = new Set([429, 502, 503, 504]);
const SCOPE = { name: "hearth" };

/**
 * Sends finished spans to an OTLP/HTTP endpoint as JSON, in batches, from a bounded queue, one POST at
 * a time. `export` only pushes onto the queue: it never waits and never throws.
 * @example
 * const exporter = new OtlpTraceExporter({ endpoint: "http://127.0.0.1:4318/v1/traces" });
 * onSpanEnd((span) => exporter.export(span));
 * await exporter.shutdown();
 */
export class OtlpTraceExporter {
  readonly #options: Required<Omit<OtlpExporterOptions, "headers" | "resource" | "fetch">> & Pick<OtlpExporterOptions, "headers" | "resource">;
  readonly #fetch: typeof fetch;
  /** The endpoint as messages show it. */
  readonly #where: string;
  #queue: SpanRecord[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #sending: Promise<void> | undefined;
  #closed = false;
  #shuttingDown: Promise<void> | undefined;
  /** Aborted at the shutdown deadline: the backoff ends, the POST in flight is cancelled. */
  readonly #stop = new AbortController();
  /** Why the last POST failed, for the line shutdown prints when it gives up. */
  #lastFailure = "";
  /** Takes header values (API keys) and credential-shaped text out of what is printed. */
  readonly #scrub: (text: string) => string;
  #sent = 0;
  #dropped = 0;
  #rejected = 0;
  #failedBatches = 0;
  /** When each kind of complaint was last printed. */
  readonly #complained = new Map<string, number>();
  /** Spans dropped because the queue was full, not yet reported; the report waiting for its minute. */
  #fullQueueDrops = 0;
  #fullQueueReport: ReturnType<typeof setTimeout> | undefined;

  constructor(options: OtlpExporterOptions) {
    this.#options = { ...DEFAULT_OTLP_EXPORTER, ...options };
    for (const key of ["timeoutMs", "maxQueueSize", "maxBatchSize", "flushIntervalMs", "retryBaseMs", "shutdownTimeoutMs"] as const) {
      const value = this.#options[key];
      if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`OTLP exporter ${key} must be a positive number, got ${value}`);
    }
    if (!(Number.isInteger(this.#options.maxRetries) && this.#options.maxRetries >= 0)) {
      throw new RangeError(`OTLP exporter maxRetries must be an integer >= 0, got ${this.#options.maxRetries}`);
    }
    checkOtlpEndpoint(this.#options.endpoint, "the OTLP exporter's endpoint option");
    checkOtlpHeaders(this.#options.headers ?? {}, "the OTLP exporter's headers option");
    this.#where = withoutUserinfo(this.#options.endpoint);
    this.#scrub = compileRedactor({ secrets: Object.values(this.#options.headers ?? {}) }).scrub;
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  /** Queues a span; drops it (counted in `stats().dropped`) when the queue is full or the exporter shut down. */
  export(span: SpanRecord): void {
    if (this.#closed) {
      this.#dropped++;
      return;
    }
    if (this.#queue.length >= this.#options.maxQueueSize) {
      this.#dropped++;
      this.#fullQueueDrops++;
      this.#reportFullQueue();
      return;
    }
    this.#queue.push(span);
    if (this.#sending) return;
    if (this.#queue.length >= this.#options.maxBatchSize) this.#startSending();
    else if (this.#timer === undefined) {
      this.#timer = realSetTimeout(() => {
        this.#timer = undefined;
        this.#startSending();
      }, this.#options.flushIntervalMs);
      this.#timer.unref?.();
    }
  }

  /**
   * Sends everything queued now; resolves when the queue is empty (or what could not be sent was
   * dropped), or at `shutdownTimeoutMs` with the rest still queued.
   */
  async flush(): Promise<void> {
    // The deadline is Node's own timer, as every timer here: a test's fake timers must not hold it back.
    const wait = { over: false };
    let deadline: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<void>((resolve) => {
      deadline = realSetTimeout(() => {
        wait.over = true;
        resolve();
      }, this.#options.shutdownTimeoutMs);
    });
    try {
      await Promise.race([this.#sendAll(wait), late]);
    } finally {
      realClearTimeout(deadline);
    }
  }

  /**
   * Refuses new spans and sends what is queued, for at most `shutdownTimeoutMs`: then retries stop,
   * the POST in flight is aborted and what is left is dropped (counted, and said in one line).
   */
  shutdown(): Promise<void> {
    this.#closed = true;
    return (this.#shuttingDown ??= this.#shutDown());
  }

  async #shutDown(): Promise<void> {
    if (this.#timer !== undefined) realClearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#fullQueueReport !== undefined) realClearTimeout(this.#fullQueueReport);
    this.#fullQueueReport = undefined;
    if (this.#fullQueueDrops > 0) this.#printFullQueue();
    // Not unref'd: a stopping process stays up until the spans are sent or the deadline passes.
    const deadline = realSetTimeout(() => this.#stop.abort(), this.#options.shutdownTimeoutMs);
    const droppedBefore = this.#dropped;
    try {
      await this.#sendAll({ over: false });
    } finally {
      realClearTimeout(deadline);
    }
    if (!this.#stop.signal.aborted) return;
    this.#dropped += this.#queue.length;
    this.#queue = [];
    const lost = this.#dropped - droppedBefore;
    console.error(
      `[hearth] OTLP export to ${this.#where} stopped at its ${this.#options.shutdownTimeoutMs / 1000} s shutdown deadline (${this.#lastFailure || "no answer"}); ${lost} ${lost === 1 ? "span" : "spans"} dropped`,
    );
  }

  /** Sends batch after batch until the queue is empty, the shutdown deadline passed or the caller's wait is over. */
  async #sendAll(wait: { over: boolean }): Promise<void> {
    while ((this.#queue.length > 0 || this.#sending) && !this.#stop.signal.aborted && !wait.over) {
      this.#startSending();
      await this.#sending;
    }
  }

  stats(): OtlpExporterStats {
    return { queued: this.#queue.length, sent: this.#sent, rejected: this.#rejected, dropped: this.#dropped, failedBatches: this.#failedBatches };
  }

  #startSending(): void {
    if (this.#sending || this.#queue.length === 0 || this.#stop.signal.aborted) return;
    if (this.#timer !== undefined) {
      realClearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#sending = this.#drain().finally(() => {
      this.#sending = undefined;
      if (this.#closed) return; // shutdown sends the rest itself
      if (this.#queue.length >= this.#options.maxBatchSize) this.#startSending();
      else if (this.#queue.length > 0 && this.#timer === undefined) {
        this.#timer = realSetTimeout(() => {
          this.#timer = undefined;
          this.#startSending();
        }, this.#options.flushIntervalMs);
        this.#timer.unref?.();
      }
    });
  }

  async #drain(): Promise<void> {
    const batch = this.#queue.splice(0, this.#options.maxBatchSize);
    const body = JSON.stringify(toOtlpJson(batch, this.#options.resource ?? {}, SCOPE));
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.#post(body);
      if (outcome.ok) {
        this.#delivered(batch.length, outcome.partial);
        return;
      }
      if (this.#stop.signal.aborted) {
        // Past the shutdown deadline: counted in the line shutdown prints.
        this.#dropped += batch.length;
        return;
      }
      this.#lastFailure = outcome.reason;
      if (!outcome.retry || attempt >= this.#options.maxRetries) {
        this.#failedBatches++;
        this.#dropped += batch.length;
        this.#complain("failed", `[hearth] OTLP export to ${this.#where} failed (${outcome.reason}); ${batch.length} spans dropped`);
        return;
      }
      const backoff = outcome.retryAfterMs !== undefined ? Math.min(MAX_RETRY_DELAY_MS, outcome.retryAfterMs) : backoffMs(this.#options.retryBaseMs, attempt);
      if (!(await this.#pause(backoff))) {
        this.#dropped += batch.length;
        return;
      }
    }
  }

  /** Waits `ms` (without keeping the process up); false when the shutdown deadline cut it short. */
  #pause(ms: number): Promise<boolean> {
    const stop = this.#stop.signal;
    if (stop.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (): void => {
        realClearTimeout(timer);
        stop.removeEventListener("abort", done);
        resolve(!stop.aborted);
      };
      const timer = realSetTimeout(done, ms);
      timer.unref?.();
      stop.addEventListener("abort", done);
    });
  }

  /** Counts a batch the collector answered 2xx for, less what it said it refused (and says why, at most once a minute). */
  #delivered(spans: number, partial: PartialSuccess | undefined): void {
    const rejected = Math.min(spans, partial?.rejectedSpans ?? 0);
    this.#sent += spans - rejected;
    this.#rejected += rejected;
    if (partial === undefined) return;
    const why = withoutUserinfo(partial.errorMessage.slice(0, MAX_COLLECTOR_MESSAGE)) || "no reason given";
    this.#complain(
      "rejected",
      rejected > 0
        ? `[hearth] the OTLP collector at ${this.#where} refused ${rejected} of ${spans} spans: ${why}`
        : `[hearth] the OTLP collector at ${this.#where} took the spans with a warning: ${why}`,
    );
  }

  async #post(body: string): Promise<{ ok: true; partial?: PartialSuccess } | { ok: false; retry: boolean; reason: string; retryAfterMs?: number }> {
    const signal = AbortSignal.any([AbortSignal.timeout(this.#options.timeoutMs), this.#stop.signal]);
    try {
      // The endpoint and headers were checked when the exporter was made: the request can be built.
      // The request and its signal are held until the POST settles (web/holding.ts): collected, they
      // aborted nothing, and the shutdown deadline waited for a collector that never answers.
      const request = new Request(this.#options.endpoint, { method: "POST", headers: { ...this.#options.headers, "content-type": "application/json" }, body, signal });
      const response = await holding([request, signal], this.#fetch(request));
      const text = await response.text().catch(() => "");
      if (response.ok) {
        const partial = partialSuccessOf(text);
        return partial ? { ok: true, partial } : { ok: true };
      }
      const retryAfter = retryAfterMs(response.headers.get("retry-after"), Date.now());
      return { ok: false, retry: RETRYABLE.has(response.status), reason: `HTTP ${response.status}`, ...(retryAfter !== undefined ? { retryAfterMs: retryAfter } : {}) };
    } catch (error) {
      return { ok: false, retry: true, reason: this.#describe(error) };
    }
  }

  /** An error's message and cause (fetch's "fetch failed" says little alone), with no credential in it. */
  #describe(error: unknown): string {
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
    return this.#scrub(withoutUserinfo(`${error instanceof Error ? error.message : String(error)}${cause}`));
  }

  /** At most one complaint of a kind a minute: an unreachable collector must not flood the log. */
  #complain(kind: string, message: string): void {
    const now = Date.now();
    if (now - (this.#complained.get(kind) ?? -Infinity) < COMPLAINT_EVERY_MS) return;
    this.#complained.set(kind, now);
    console.error(message);
  }

  /** Says how many spans a full queue dropped: at once the first time, then at most once a minute with the count since. */
  #reportFullQueue(): void {
    if (this.#fullQueueReport !== undefined) return;
    const wait = (this.#complained.get("queue") ?? -Infinity) + COMPLAINT_EVERY_MS - Date.now();
    if (wait <= 0) {
      this.#printFullQueue();
      return;
    }
    this.#fullQueueReport = realSetTimeout(() => {
      this.#fullQueueReport = undefined;
      this.#printFullQueue();
    }, wait);
    this.#fullQueueReport.unref?.();
  }

  #printFullQueue(): void {
    const count = this.#fullQueueDrops;
    this.#fullQueueDrops = 0;
    this.#complained.set("queue", Date.now());
    console.error(
      `[hearth] OTLP export to ${this.#where} is behind: its queue of ${this.#options.maxQueueSize} spans is full; ${count} new ${count === 1 ? "span" : "spans"} dropped`,
    );
  }
}
