import type { Clock } from "../../time/clock.ts";
import { ALERT_LIMITS } from "./limits.ts";
import { slackPayload, webhookPayload, type Notification } from "./payloads.ts";
import type { ContactPoint } from "./types.ts";

/** One delivery attempt's outcome, reported to the history. */
export interface DeliveryReport {
  readonly notification: Notification;
  readonly contactPoint: string;
  readonly outcome: "delivered" | "failed" | "dropped";
  readonly status: number | null;
  readonly error: string | null;
  readonly attempt: number;
  /** True when no further attempt follows (delivered, dropped, permanent failure or retries spent). */
  readonly final: boolean;
}

export interface DelivererOptions {
  readonly clock: Clock;
  /** Told of every attempt; must not throw (the deliverer catches it anyway). */
  readonly onReport: (report: DeliveryReport) => void;
  readonly retries?: number;
  readonly backoffMs?: number;
  readonly timeoutMs?: number;
  readonly queueSize?: number;
  /** The inspector's address, for links in payloads; "" for none. */
  readonly externalUrl?: string;
}

/** An HTTP status worth retrying: server errors, 408 and 429. Other 4xx mean the payload or URL is wrong. */
function retryable(status: number | null): boolean {
  return status === null || status >= 500 || status === 408 || status === 429;
}

/**
 * Sends notifications to contact points off the evaluator's path: a bounded set of deliveries in
 * flight, each retried with doubling backoff (timed by the clock) and a timeout per request. Failures
 * are reported, never thrown.
 */
export class Deliverer {
  readonly #options: Required<DelivererOptions>;
  #inFlight = 0;
  #idle: Array<() => void> = [];
  readonly #timers = new Set<() => void>();
  #closed = false;

  constructor(options: DelivererOptions) {
    this.#options = {
      retries: ALERT_LIMITS.defaultRetries,
      backoffMs: ALERT_LIMITS.defaultBackoffMs,
      timeoutMs: ALERT_LIMITS.defaultTimeoutMs,
      queueSize: ALERT_LIMITS.defaultQueueSize,
      externalUrl: "",
      ...options,
    };
  }

  /** Deliveries waiting for an answer or a retry. */
  get pending(): number {
    return this.#inFlight;
  }

  /** Queues `notification` for each contact point; past the queue size it is dropped (and reported). */
  enqueue(notification: Notification, contactPoints: readonly ContactPoint[]): void {
    for (const contactPoint of contactPoints) {
      if (this.#closed || this.#inFlight >= this.#options.queueSize) {
        const error = this.#closed ? "alerts are closed" : `delivery queue full (${this.#options.queueSize} deliveries waiting)`;
        this.#report({ notification, contactPoint: contactPoint.name, outcome: "dropped", status: null, error, attempt: 0, final: true });
        continue;
      }
      this.#inFlight++;
      void this.#attempt(notification, contactPoint, 1);
    }
  }

  /** One request to one contact point, no retry (the `test` action). */
  async sendOnce(notification: Notification, contactPoint: ContactPoint): Promise<{ status: number | null; error: string | null }> {
    const body = contactPoint.kind === "slack" ? slackPayload(notification, this.#options.externalUrl) : webhookPayload(notification, contactPoint.name, this.#options.externalUrl);
    try {
      const response = await fetch(contactPoint.url, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "Hearth-Alerts", ...contactPoint.headers },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.#options.timeoutMs),
        // Not followed (a secret header would go to wherever it points), and not retried: it answers the same each time.
        redirect: "manual",
      });
      const text = (await response.text()).slice(0, 200);
      if (response.status >= 300 && response.status < 400) {
        return { status: response.status, error: `HTTP ${response.status}: redirects are not followed (Location: ${response.headers.get("location") ?? "none"}); give the contact point its final URL` };
      }
      return response.ok ? { status: response.status, error: null } : { status: response.status, error: `HTTP ${response.status}${text ? `: ${text}` : ""}` };
    } catch (error) {
      const e = error as Error;
      const message = e.name === "TimeoutError" ? `no answer within ${this.#options.timeoutMs} ms` : String((e.cause as Error | undefined)?.message ?? e.message);
      return { status: null, error: message };
    }
  }

  /** Resolves when no delivery is in flight or waiting for a retry. */
  idle(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Cancels waiting retries (reported as dropped) and refuses new deliveries. */
  close(): void {
    this.#closed = true;
    for (const cancel of [...this.#timers]) cancel();
  }

  async #attempt(notification: Notification, contactPoint: ContactPoint, attempt: number): Promise<void> {
    const { status, error } = await this.sendOnce(notification, contactPoint);
    const delivered = error === null;
    const final = delivered || this.#closed || attempt > this.#options.retries || !retryable(status);
    this.#report({ notification, contactPoint: contactPoint.name, outcome: delivered ? "delivered" : "failed", status, error, attempt, final });
    if (final) return this.#done();
    const delay = Math.min(this.#options.backoffMs * 2 ** (attempt - 1), ALERT_LIMITS.maxBackoffMs);
    const cancelTimer = this.#options.clock.setTimer(this.#options.clock.now() + delay, () => {
      this.#timers.delete(cancel);
      return this.#attempt(notification, contactPoint, attempt + 1);
    });
    const cancel = (): void => {
      cancelTimer();
      this.#timers.delete(cancel);
      this.#report({ notification, contactPoint: contactPoint.name, outcome: "dropped", status: null, error: "alerts closed before the retry", attempt, final: true });
      this.#done();
    };
    this.#timers.add(cancel);
  }

  #done(): void {
    this.#inFlight--;
    if (this.#inFlight === 0) for (const resolve of this.#idle.splice(0)) resolve();
  }

  #report(report: DeliveryReport): void {
    try {
      this.#options.onReport(report);
    } catch (error) {
      console.error("[hearth] alerts: recording a delivery failed:", error);
    }
  }
}
