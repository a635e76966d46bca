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

/** One notification on its way to one contact point. */
interface Delivery {
  readonly notification: Notification;
  readonly contactPoint: ContactPoint;
  /** A newer notification of the same alert waits for this one: no retry follows. */
  superseded: boolean;
  /** Set while a retry waits on the clock: cancels it, reporting `why` as the drop's reason. */
  cancelRetry?: (why: string) => void;
}

/** The deliveries of one alert to one contact point: at most one at a time, and the latest waiting. */
interface Lane {
  current: Delivery;
  next: Delivery | undefined;
}

/** Why a waiting retry or a queued notification gives way. */
const SUPERSEDED = "superseded by a newer notification of the same alert";

/**
 * Sends notifications to contact points off the evaluator's path: a bounded set of deliveries in
 * flight, each retried with doubling backoff (timed by the clock) and a timeout per request. Failures
 * are reported, never thrown.
 *
 * The notifications of one alert (its fingerprint) to one contact point go strictly in order: one at
 * a time, and a newer one supersedes an older one's waiting retries (reported as dropped), so a late
 * retry of "firing" never reaches the receiver after "resolved". A newer one waits for a request of
 * the older one already sent; of several waiting, only the newest is sent.
 */
export class Deliverer {
  readonly #options: Required<DelivererOptions>;
  #inFlight = 0;
  #idle: Array<() => void> = [];
  /** Deliveries whose retry waits on the clock. */
  readonly #waiting = new Set<Delivery>();
  /** By alert fingerprint and contact point name. */
  readonly #lanes = new Map<string, Lane>();
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

  /**
   * Queues `notification` for each contact point; past the queue size it is dropped (and reported).
   * It supersedes what is pending for the same alert and contact point (see the class).
   */
  enqueue(notification: Notification, contactPoints: readonly ContactPoint[]): void {
    for (const contactPoint of contactPoints) {
      if (this.#closed || this.#inFlight >= this.#options.queueSize) {
        const error = this.#closed ? "alerts are closed" : `delivery queue full (${this.#options.queueSize} deliveries waiting)`;
        this.#report({ notification, contactPoint: contactPoint.name, outcome: "dropped", status: null, error, attempt: 0, final: true });
        continue;
      }
      this.#inFlight++;
      const delivery: Delivery = { notification, contactPoint, superseded: false };
      const key = laneKey(notification, contactPoint);
      const lane = this.#lanes.get(key);
      if (!lane) {
        this.#lanes.set(key, { current: delivery, next: undefined });
        void this.#attempt(delivery, key, 1);
        continue;
      }
      if (lane.next) this.#drop(lane.next, SUPERSEDED, 0);
      lane.next = delivery;
      lane.current.superseded = true;
      // Waiting for a retry: given up now, and the newer one goes at once. Else it goes once the request in flight is answered.
      lane.current.cancelRetry?.(SUPERSEDED);
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
    for (const delivery of [...this.#waiting]) delivery.cancelRetry?.("alerts closed before the retry");
  }

  async #attempt(delivery: Delivery, key: string, attempt: number): Promise<void> {
    const { notification, contactPoint } = delivery;
    const { status, error } = await this.sendOnce(notification, contactPoint);
    const delivered = error === null;
    const final = delivered || this.#closed || delivery.superseded || attempt > this.#options.retries || !retryable(status);
    this.#report({ notification, contactPoint: contactPoint.name, outcome: delivered ? "delivered" : "failed", status, error, attempt, final });
    if (final) return this.#finish(key);
    const delay = Math.min(this.#options.backoffMs * 2 ** (attempt - 1), ALERT_LIMITS.maxBackoffMs);
    const cancelTimer = this.#options.clock.setTimer(this.#options.clock.now() + delay, () => {
      this.#waiting.delete(delivery);
      delivery.cancelRetry = undefined;
      return this.#attempt(delivery, key, attempt + 1);
    });
    delivery.cancelRetry = (why) => {
      cancelTimer();
      this.#waiting.delete(delivery);
      delivery.cancelRetry = undefined;
      this.#report({ notification, contactPoint: contactPoint.name, outcome: "dropped", status: null, error: why, attempt, final: true });
      this.#finish(key);
    };
    this.#waiting.add(delivery);
  }

  /** The lane's current delivery is over: the one waiting behind it (if any) starts. */
  #finish(key: string): void {
    const lane = this.#lanes.get(key);
    const next = lane?.next;
    this.#done();
    if (!lane || !next) {
      this.#lanes.delete(key);
      return;
    }
    lane.current = next;
    lane.next = undefined;
    if (this.#closed) {
      this.#drop(next, "alerts are closed", 0);
      this.#lanes.delete(key);
      return;
    }
    void this.#attempt(next, key, 1);
  }

  /** Reports a delivery that will not be (re)tried and counts it out. */
  #drop(delivery: Delivery, why: string, attempt: number): void {
    this.#report({ notification: delivery.notification, contactPoint: delivery.contactPoint.name, outcome: "dropped", status: null, error: why, attempt, final: true });
    this.#done();
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

/** The lane of a notification: its alert (fingerprint, which names the rule and labels) at one contact point. */
function laneKey(notification: Notification, contactPoint: ContactPoint): string {
  return `${notification.fingerprint}\u0000${contactPoint.name}`;
}
