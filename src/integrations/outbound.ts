/**
 * Durable outbound webhooks: `sendWebhook` records the delivery in the agent's SQLite within the
 * calling event (so it exists exactly when the event's other writes do) and a feature task of the
 * agent delivers it, surviving restarts and crashes. Failed attempts are retried with backoff (and
 * `Retry-After`); a delivery that fails every attempt, or fails in a way no retry fixes, becomes a
 * dead letter that can be listed, retried or discarded.
 */
import { randomUUID } from "node:crypto";
import { HANDLE } from "../agent/agent-base.ts";
import { registerTaskHandler } from "../schedule/task-handlers.ts";
import { backoffDelay, resolveRetry, type RetryOptions } from "../time/backoff.ts";
import { CircuitBreakers, type CircuitBreakerOptions } from "./circuit-breaker.ts";
import { checkDestinationSync, deliverOnce, type DeliveryPolicy } from "./outbound-delivery.ts";
import { toHeaders } from "./outbound-headers.ts";
import { runtimeOf } from "./inbound.ts";
import { MAX_PENDING_WEBHOOKS, OutboxStore, type OutboxRow, type OutboxStatus } from "./outbox-store.ts";

/** A Slack message for an incoming-webhook URL. */
export interface SlackMessage {
  text: string;
  /** Block Kit blocks; `text` is then the notification fallback. */
  blocks?: readonly unknown[];
}

/** What to send. */
export type WebhookMessage =
  | {
      /** Hearth's own scheme (default): the body as JSON (or as is, for a string or bytes), signed when a secret is given. */
      style?: "hearth";
      url: string;
      body: unknown;
      headers?: Record<string, string>;
      /** Signs each attempt: `X-Hearth-Signature: t=<unix>,v1=<hex>` (see verifyWebhook's "hmac" style). */
      secret?: string;
    }
  | {
      /** A Slack incoming webhook: POSTs `{ text, blocks? }` as JSON. */
      style: "slack";
      url: string;
      body: SlackMessage | string;
      headers?: Record<string, string>;
      secret?: undefined;
    };

/** Options of {@link sendWebhook}. */
export interface SendWebhookOptions {
  /** Attempts and backoff. Default `{ maxAttempts: 10, baseDelayMs: 2000, maxDelayMs: 600000 }` (about 17 minutes in all). */
  retry?: RetryOptions;
  /** Time one attempt may take, in ms. Default 10 000. */
  timeoutMs?: number;
  /** Deliver to loopback and private addresses too. Default false. */
  allowPrivate?: boolean;
  /** Non-public hosts, addresses or ranges allowed (see assertPublicDestination). */
  allowHosts?: readonly string[];
  /**
   * The receiver's circuit breaker, shared by the deliveries of every agent with the same settings:
   * after `failureThreshold` failures in a row (default 5) attempts wait `coolDownMs` (default 30 s;
   * they count as attempts). False: none.
   */
  circuitBreaker?: CircuitBreakerOptions | false;
  /** The delivery's id (sent as X-Hearth-Delivery); sending an id that exists returns it and sends nothing new. Default a UUID. */
  id?: string;
}

/** An outbound webhook as recorded. */
export interface OutboundWebhook {
  id: string;
  url: string;
  style: "hearth" | "slack";
  status: OutboxStatus;
  /** Attempts made (an attempt cut short by a crash counts). */
  attempts: number;
  /** HTTP status of the last answer, if there was one. */
  lastStatus?: number;
  /** Why the last attempt failed. */
  lastError?: string;
  /** When the next attempt is due (pending only), epoch ms. */
  nextAttemptAt?: number;
  createdAt: number;
  updatedAt: number;
}

export const WEBHOOK_DELIVER_TASK = "hearth:webhook.deliver";
export const DEFAULT_WEBHOOK_RETRY: Required<RetryOptions> = Object.freeze({ maxAttempts: 10, baseDelayMs: 2000, maxDelayMs: 600_000 });
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;
/** Largest body of an outbound webhook, in bytes. */
export const MAX_OUTBOUND_BODY_BYTES = 1024 * 1024;
/** Largest set of extra headers, as JSON, in bytes. */
export const MAX_OUTBOUND_HEADERS_BYTES = 16 * 1024;
/** Retries of the delivery task itself, should it fail outside an attempt (the database, not the receiver). */
const TASK_RETRY: RetryOptions = { maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000 };

interface TaskScheduler {
  schedule(when: number, callback: string, payload: unknown, options?: { retry?: RetryOptions }): unknown;
}

/**
 * Records a webhook for delivery and returns its id. Synchronous: call it inside an agent's event
 * (a method, `onRequest`, a team step); the delivery is stored with that event's writes and sent
 * after it, by the agent's own task, retried with backoff until it succeeds or becomes a dead letter.
 *
 * @throws TypeError for a bad URL (or one holding credentials), body or header; RangeError past a size limit or MAX_PENDING_WEBHOOKS;
 *   OutboundAddressError for an address literal that is not allowed (a host name is checked when sent)
 * @example
 * sendWebhook(this, { style: "slack", url: this.env.SLACK_WEBHOOK_URL, body: { text: `CRITICAL: ${summary}` } });
 * sendWebhook(this, { url: "https://hooks.example.com/runs", body: { runId, status }, secret: this.env.HOOK_SECRET }, { id: `run:${runId}` });
 */
export function sendWebhook(agent: object, message: WebhookMessage, options: SendWebhookOptions = {}): string {
  const runtime = runtimeOf(agent);
  const tasks = tasksOf(agent);
  const store = new OutboxStore(runtime.db);
  const id = options.id ?? randomUUID();
  if (typeof id !== "string" || id.length === 0 || id.length > 256) throw new TypeError("sendWebhook: `id` must be a string of 1-256 characters");
  const style = message.style ?? "hearth";
  if (style !== "hearth" && style !== "slack") throw new TypeError(`sendWebhook: style must be "hearth" or "slack", got ${JSON.stringify(style)}`);
  const url = parseUrl(message.url);
  const policy: DeliveryPolicy = {
    retry: resolveRetry(options.retry, DEFAULT_WEBHOOK_RETRY),
    timeoutMs: checkTimeout(options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS),
    allowPrivate: options.allowPrivate === true,
    allowHosts: [...(options.allowHosts ?? [])],
    circuitBreaker: options.circuitBreaker === false ? false : checkBreaker(options.circuitBreaker ?? {}),
  };
  checkDestinationSync(url, policy);
  const body = encodeBody(style, message.body);
  const headersJson = JSON.stringify(Object.fromEntries(checkHeaders(message.headers ?? {}, body.contentType)));
  if (Buffer.byteLength(headersJson) > MAX_OUTBOUND_HEADERS_BYTES) {
    throw new RangeError(`sendWebhook: the headers are ${Buffer.byteLength(headersJson)} bytes of JSON; the limit is ${MAX_OUTBOUND_HEADERS_BYTES}`);
  }
  if (message.secret !== undefined && (typeof message.secret !== "string" || message.secret === "")) {
    throw new TypeError("sendWebhook: secret must be a non-empty string");
  }
  if (store.get(id)) return id;
  if (store.countPending() >= MAX_PENDING_WEBHOOKS) {
    throw new RangeError(`sendWebhook: ${MAX_PENDING_WEBHOOKS} webhooks are already pending on this agent (MAX_PENDING_WEBHOOKS); the receiver is not keeping up`);
  }
  store.insert({
    id,
    url: url.href,
    style,
    body: body.bytes,
    headers: headersJson,
    secret: message.secret ?? null,
    policy: JSON.stringify(policy),
    created_at: runtime.clock.now(),
  });
  tasks.schedule(0, WEBHOOK_DELIVER_TASK, { id }, { retry: TASK_RETRY });
  return id;
}

/**
 * An outbound webhook by id (pending, delivered or dead), or undefined.
 * @example
 * getWebhook(this, id)?.status; // "pending" | "delivered" | "dead"
 */
export function getWebhook(agent: object, id: string): OutboundWebhook | undefined {
  const row = new OutboxStore(runtimeOf(agent).db).get(id);
  return row && toWebhook(row);
}

/**
 * Deliveries that failed for good, newest first, with their last status and error.
 * @example
 * for (const letter of listDeadLetters(this)) console.log(letter.url, letter.lastStatus, letter.lastError);
 */
export function listDeadLetters(agent: object, options: { limit?: number } = {}): OutboundWebhook[] {
  const limit = Math.max(1, Math.min(10_000, Math.floor(options.limit ?? 100)));
  return new OutboxStore(runtimeOf(agent).db).list("dead", limit).map(toWebhook);
}

/**
 * Sends a dead letter again, from its first attempt; false when `id` is not a dead letter.
 * @example
 * retryDeadLetter(this, letter.id);
 */
export function retryDeadLetter(agent: object, id: string): boolean {
  const runtime = runtimeOf(agent);
  if (!new OutboxStore(runtime.db).revive(id, runtime.clock.now())) return false;
  tasksOf(agent).schedule(0, WEBHOOK_DELIVER_TASK, { id }, { retry: TASK_RETRY });
  return true;
}

/** Deletes a dead letter; false when `id` is not one. */
export function discardDeadLetter(agent: object, id: string): boolean {
  return new OutboxStore(runtimeOf(agent).db).discard(id);
}

registerTaskHandler(WEBHOOK_DELIVER_TASK, async (agent, payload) => {
  const id = (payload as { id?: unknown } | undefined)?.id;
  if (typeof id !== "string") return;
  const runtime = runtimeOf(agent);
  const store = new OutboxStore(runtime.db);
  const row = store.get(id);
  if (!row || row.status !== "pending") return; // delivered, discarded or dead since
  const policy = JSON.parse(row.policy) as DeliveryPolicy;
  const clock = runtime.clock;
  if (row.attempts >= policy.retry.maxAttempts) {
    store.dead(id, clock.now(), row.last_status, `The process stopped during the last attempt (${row.attempts} of ${policy.retry.maxAttempts}); last error: ${row.last_error ?? "none"}`);
    return;
  }
  store.startAttempt(id, clock.now());
  const attempt = row.attempts + 1;
  const outcome = await deliverOnce(row, policy, clock);
  const now = clock.now();
  if (outcome.kind === "delivered") {
    store.delivered(id, now, outcome.status);
  } else if (outcome.kind === "permanent" || attempt >= policy.retry.maxAttempts) {
    const why = outcome.kind === "permanent" ? outcome.error : `${outcome.error} (attempt ${attempt} of ${policy.retry.maxAttempts})`;
    store.dead(id, now, outcome.status, why);
  } else {
    const delay = Math.max(backoffDelay(attempt, policy.retry), outcome.waitMs ?? 0);
    store.retryLater(id, now, now + delay, outcome.status, outcome.error);
    tasksOf(agent).schedule(delay / 1000, WEBHOOK_DELIVER_TASK, { id }, { retry: TASK_RETRY });
  }
});

function tasksOf(agent: object): TaskScheduler {
  const tasks = (agent as { [HANDLE.tasks]?: () => TaskScheduler })[HANDLE.tasks];
  if (typeof tasks !== "function") throw new TypeError("Outbound webhooks need an Agent: its task queue delivers them");
  return tasks.call(agent);
}

function toWebhook(row: OutboxRow): OutboundWebhook {
  return {
    id: row.id,
    url: row.url,
    style: row.style === "slack" ? "slack" : "hearth",
    status: row.status,
    attempts: row.attempts,
    ...(row.last_status === null ? {} : { lastStatus: row.last_status }),
    ...(row.last_error === null ? {} : { lastError: row.last_error }),
    ...(row.status === "pending" && row.next_attempt_at !== null ? { nextAttemptAt: row.next_attempt_at } : {}),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function parseUrl(text: unknown): URL {
  let url: URL;
  try {
    url = new URL(String(text));
  } catch {
    throw new TypeError("sendWebhook: `url` must be an absolute http(s) URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new TypeError(`sendWebhook: \`url\` must be http: or https:, got ${JSON.stringify(url.protocol)}`);
  // fetch refuses such a URL on every attempt; the credentials belong in a header.
  if (url.username !== "" || url.password !== "") {
    throw new TypeError("sendWebhook: `url` must not hold credentials (user:password@); send them in a header, e.g. headers: { authorization: … }");
  }
  return url;
}

function checkBreaker(options: CircuitBreakerOptions): CircuitBreakerOptions {
  new CircuitBreakers(options); // validates, with the breaker's own messages
  return { ...options };
}

function checkTimeout(ms: number): number {
  if (!Number.isFinite(ms) || ms <= 0 || ms > 600_000) throw new RangeError(`sendWebhook: timeoutMs must be a number of milliseconds from 1 to 600000, got ${String(ms)}`);
  return ms;
}

function encodeBody(style: "hearth" | "slack", body: unknown): { bytes: Uint8Array; contentType: string } {
  let bytes: Uint8Array;
  let contentType = "application/json";
  if (style === "slack") {
    const message = typeof body === "string" ? { text: body } : body;
    if (message === null || typeof message !== "object" || typeof (message as SlackMessage).text !== "string") {
      throw new TypeError("sendWebhook: a slack message is a string or { text, blocks? }");
    }
    bytes = Buffer.from(JSON.stringify(message));
  } else if (body instanceof Uint8Array) {
    bytes = body;
    contentType = "application/octet-stream";
  } else if (typeof body === "string") {
    bytes = Buffer.from(body);
    contentType = "text/plain; charset=utf-8";
  } else {
    const json = body === undefined ? undefined : JSON.stringify(body);
    if (json === undefined) throw new TypeError("sendWebhook: the body must be JSON-serialisable, a string or bytes");
    bytes = Buffer.from(json);
  }
  if (bytes.byteLength > MAX_OUTBOUND_BODY_BYTES) {
    throw new RangeError(`sendWebhook: the body is ${bytes.byteLength} bytes; the limit is ${MAX_OUTBOUND_BODY_BYTES} (MAX_OUTBOUND_BODY_BYTES)`);
  }
  return { bytes, contentType };
}

/** The headers as fetch will take them (names lower-cased), or a TypeError naming the bad one. */
function checkHeaders(headers: Record<string, string>, contentType: string): Headers {
  try {
    return toHeaders(headers, { "content-type": contentType });
  } catch (error) {
    throw new TypeError(`sendWebhook: ${(error as Error).message}`, { cause: error });
  }
}
