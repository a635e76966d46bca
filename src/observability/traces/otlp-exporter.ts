import type { AttributeValue } from "@opentelemetry/api";
import { toOtlpJson } from "./otlp-json.ts";
import type { SpanRecord } from "./span-record.ts";

/** Settings of the OTLP/HTTP JSON exporter. */
export interface OtlpExporterOptions {
  /** The full traces URL, e.g. "http://127.0.0.1:4318/v1/traces". */
  endpoint: string;
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
  /** First retry delay, doubled each time (a `Retry-After` header wins), at most 30 s. Default 1 s. */
  retryBaseMs?: number;
  /** The fetch to use. Default globalThis.fetch. */
  fetch?: typeof fetch;
}

/** What the exporter did so far. */
export interface OtlpExporterStats {
  readonly queued: number;
  readonly sent: number;
  readonly dropped: number;
  readonly failedBatches: number;
}

export const DEFAULT_OTLP_EXPORTER = { timeoutMs: 10_000, maxQueueSize: 2_048, maxBatchSize: 512, flushIntervalMs: 5_000, maxRetries: 5, retryBaseMs: 1_000 } as const;
const MAX_RETRY_DELAY_MS = 30_000;
const RETRYABLE = new Set([429, 502, 503, 504]);
// Real timers on purpose: a test's virtual clock must not hold exports back.
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;
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
  #queue: SpanRecord[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #sending: Promise<void> | undefined;
  #closed = false;
  #sent = 0;
  #dropped = 0;
  #failedBatches = 0;
  #lastComplaint = 0;

  constructor(options: OtlpExporterOptions) {
    this.#options = { ...DEFAULT_OTLP_EXPORTER, ...options };
    for (const key of ["timeoutMs", "maxQueueSize", "maxBatchSize", "flushIntervalMs", "retryBaseMs"] as const) {
      const value = this.#options[key];
      if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`OTLP exporter ${key} must be a positive number, got ${value}`);
    }
    if (!(Number.isInteger(this.#options.maxRetries) && this.#options.maxRetries >= 0)) {
      throw new RangeError(`OTLP exporter maxRetries must be an integer >= 0, got ${this.#options.maxRetries}`);
    }
    this.#fetch = options.fetch ?? globalThis.fetch;
  }

  /** Queues a span; drops it (counted in `stats().dropped`) when the queue is full or the exporter shut down. */
  export(span: SpanRecord): void {
    if (this.#closed || this.#queue.length >= this.#options.maxQueueSize) {
      this.#dropped++;
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

  /** Sends everything queued now; resolves when the queue is empty (or what could not be sent was dropped). */
  async flush(): Promise<void> {
    while (this.#queue.length > 0 || this.#sending) {
      this.#startSending();
      await this.#sending;
    }
  }

  /** Flushes, then refuses new spans. */
  async shutdown(): Promise<void> {
    await this.flush();
    this.#closed = true;
    if (this.#timer !== undefined) realClearTimeout(this.#timer);
  }

  stats(): OtlpExporterStats {
    return { queued: this.#queue.length, sent: this.#sent, dropped: this.#dropped, failedBatches: this.#failedBatches };
  }

  #startSending(): void {
    if (this.#sending || this.#queue.length === 0) return;
    if (this.#timer !== undefined) {
      realClearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#sending = this.#drain().finally(() => {
      this.#sending = undefined;
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
        this.#sent += batch.length;
        return;
      }
      if (!outcome.retry || attempt >= this.#options.maxRetries) {
        this.#failedBatches++;
        this.#dropped += batch.length;
        this.#complain(`[hearth] OTLP export to ${this.#options.endpoint} failed (${outcome.reason}); ${batch.length} spans dropped`);
        return;
      }
      const backoff = Math.min(MAX_RETRY_DELAY_MS, outcome.retryAfterMs ?? this.#options.retryBaseMs * 2 ** attempt);
      await new Promise((resolve) => realSetTimeout(resolve, backoff).unref?.());
    }
  }

  async #post(body: string): Promise<{ ok: true } | { ok: false; retry: boolean; reason: string; retryAfterMs?: number }> {
    const signal = AbortSignal.timeout(this.#options.timeoutMs);
    try {
      const response = await this.#fetch(this.#options.endpoint, {
        method: "POST",
        headers: { ...this.#options.headers, "content-type": "application/json" },
        body,
        signal,
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return { ok: true };
      const retryAfter = Number(response.headers.get("retry-after"));
      return {
        ok: false,
        retry: RETRYABLE.has(response.status),
        reason: `HTTP ${response.status}`,
        ...(Number.isFinite(retryAfter) && retryAfter >= 0 && response.headers.has("retry-after") ? { retryAfterMs: retryAfter * 1000 } : {}),
      };
    } catch (error) {
      return { ok: false, retry: true, reason: error instanceof Error ? error.message : String(error) };
    }
  }

  /** At most one complaint a minute: an unreachable collector must not flood the log. */
  #complain(message: string): void {
    const now = Date.now();
    if (now - this.#lastComplaint < 60_000) return;
    this.#lastComplaint = now;
    console.error(message);
  }
}
