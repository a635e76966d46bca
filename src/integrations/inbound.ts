/**
 * Inbound webhooks for an agent's `onRequest`: the signature is verified, the delivery checked against
 * the deliveries the agent already acted on (in its own SQLite) by its id and by its signature, and the
 * handler called once per delivery — a sender's retry (same id) or an attacker's replay (same signature,
 * whatever unsigned header it changed) is answered 200 and not acted on again.
 */
import { AGENT_RUNTIME } from "../agent/agent-base.ts";
import type { AgentRuntime } from "../agent/runtime.ts";
import { recordDelivery, resolveRetention, wasDelivered, type DeliveryRetention } from "./delivery-log.ts";
import {
  DEFAULT_MAX_WEBHOOK_BODY_BYTES,
  verifyDelivery,
  WebhookRequestError,
  WebhookSignatureError,
  type WebhookStyle,
} from "./webhook-signature.ts";

/** What the handler learns about a delivery besides its payload. */
export interface WebhookDelivery {
  /** The sender's id of the delivery (see {@link verifyWebhook}). */
  deliveryId: string;
  /** The signed time, Unix seconds (undefined for the github style). */
  timestamp: number | undefined;
  /** The request's headers (the event type is here: X-GitHub-Event, for one). */
  headers: Headers;
  /** The raw body that was verified. */
  rawBody: Uint8Array;
}

/** Options of {@link handleWebhook}. */
export interface HandleWebhookOptions<P = unknown> {
  style: WebhookStyle;
  /** The shared secret; several during a rotation. */
  secret: string | readonly string[];
  /**
   * Acts on a delivery: called once per delivery (a request with an id or a signature already acted
   * on is a duplicate). Throwing fails the request (the host answers 500) and records nothing, so the
   * sender's retry runs it again. A Response it returns is the answer (recorded as done only when it
   * is 2xx); otherwise the answer is 200 `{ ok: true, deliveryId }`.
   */
  onDelivery(payload: P, delivery: WebhookDelivery): unknown;
  /** Names the sender in the delivery log, so two senders' ids cannot collide. Default: the style. */
  source?: string;
  /** Seconds a signed timestamp may be off. Default 300. */
  toleranceSeconds?: number;
  /** Largest body accepted, in bytes. Default 1 MiB. */
  maxBodyBytes?: number;
  /** How long delivery ids are remembered. Default 7 days, 10 000 per agent. */
  retention?: DeliveryRetention;
}

/** Longest delivery id accepted, in characters. */
export const MAX_DELIVERY_ID_LENGTH = 256;

/** Deliveries being acted on now, per agent: a concurrent duplicate waits for the first one's outcome. */
const inFlight = new WeakMap<object, Map<string, Promise<boolean>>>();

/**
 * Answers an inbound webhook inside an agent's `onRequest`. Status codes: 200 (acted on, or a
 * duplicate: `{ ok: true, duplicate: true }`), 400 (malformed body or delivery id), 401 (signature,
 * header or timestamp refused), 405 (not a POST), 413 (body over `maxBodyBytes`). Slack's
 * `url_verification` handshake is answered with its challenge.
 *
 * @example
 * class Deploys extends Agent {
 *   async onRequest(request: Request) {
 *     return handleWebhook(this, request, {
 *       style: "github",
 *       secret: this.env.GITHUB_WEBHOOK_SECRET,
 *       onDelivery: (push, { deliveryId }) => deployTeam.start(this, push, { runId: `gh:${deliveryId}` }),
 *     });
 *   }
 * }
 */
export async function handleWebhook<P = unknown>(agent: object, request: Request, options: HandleWebhookOptions<P>): Promise<Response> {
  const runtime = runtimeOf(agent);
  const retention = resolveRetention(options.retention);
  if (typeof options.onDelivery !== "function") throw new TypeError("handleWebhook: onDelivery must be a function");
  const source = options.source ?? options.style;
  if (request.method !== "POST") {
    return Response.json({ error: `Webhook refused: method ${request.method}; webhooks are POSTed` }, { status: 405, headers: { allow: "POST" } });
  }

  let checked;
  try {
    checked = await verifyDelivery(request, {
      style: options.style,
      secret: options.secret,
      toleranceSeconds: options.toleranceSeconds,
      maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_WEBHOOK_BODY_BYTES,
      now: runtime.clock.now(),
    });
  } catch (error) {
    if (error instanceof WebhookSignatureError) return Response.json({ error: error.message, reason: error.reason }, { status: 401 });
    if (error instanceof WebhookRequestError) return Response.json({ error: error.message }, { status: error.status });
    throw error;
  }
  const verified = checked.webhook;
  const { deliveryId } = verified;
  if (deliveryId.length > MAX_DELIVERY_ID_LENGTH) {
    return Response.json({ error: `Webhook refused: the delivery id is ${deliveryId.length} characters; the limit is ${MAX_DELIVERY_ID_LENGTH}` }, { status: 400 });
  }
  let payload: unknown;
  try {
    payload = parsePayload(verified.body, request.headers.get("content-type"));
  } catch (error) {
    return Response.json({ error: `Webhook refused: the body is not valid JSON (${(error as Error).message})` }, { status: 400 });
  }
  if (options.style === "slack" && isRecord(payload) && payload.type === "url_verification" && typeof payload.challenge === "string") {
    return Response.json({ challenge: payload.challenge });
  }

  const running = inFlightOf(agent);
  const ownKeys = [`${source}\nid:${deliveryId}`, `${source}\nsig:${verified.signature}`];
  const copyKeys = [ownKeys[0]!, ...checked.signatures.map((signature) => `${source}\nsig:${signature}`)];
  const inFlightCopy = () => copyKeys.map((key) => running.get(key)).find((first) => first !== undefined);
  // A copy of this delivery is being acted on (the sender retried early): its outcome decides.
  for (let first = inFlightCopy(); first; first = inFlightCopy()) {
    if (await first) return duplicate(deliveryId);
  }
  if (wasDelivered(runtime.db, source, { deliveryId, signatures: checked.signatures })) return duplicate(deliveryId);

  let settle!: (done: boolean) => void;
  const acting = new Promise<boolean>((resolve) => (settle = resolve));
  for (const key of ownKeys) running.set(key, acting);
  let done = false;
  try {
    const answer: unknown = await options.onDelivery(payload as P, {
      deliveryId,
      timestamp: verified.timestamp,
      headers: request.headers,
      rawBody: verified.body,
    });
    const response = answer instanceof Response ? answer : Response.json({ ok: true, deliveryId });
    if (response.ok) {
      recordDelivery(runtime.db, source, verified, runtime.clock.now(), retention);
      done = true;
    }
    return response;
  } finally {
    for (const key of ownKeys) running.delete(key);
    settle(done);
  }
}

function duplicate(deliveryId: string): Response {
  return Response.json({ ok: true, duplicate: true, deliveryId });
}

/** JSON, or a form (Slack's slash commands and interactions) as an object of its fields. Empty: null. */
function parsePayload(body: Uint8Array, contentType: string | null): unknown {
  const text = Buffer.from(body).toString("utf8");
  if (contentType?.toLowerCase().startsWith("application/x-www-form-urlencoded")) return Object.fromEntries(new URLSearchParams(text));
  if (text.trim() === "") return null;
  return JSON.parse(text) as unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function inFlightOf(agent: object): Map<string, Promise<boolean>> {
  let map = inFlight.get(agent);
  if (!map) inFlight.set(agent, (map = new Map()));
  return map;
}

export function runtimeOf(agent: object): AgentRuntime {
  const runtime = (agent as { [AGENT_RUNTIME]?: AgentRuntime })[AGENT_RUNTIME];
  if (!runtime) throw new TypeError("Webhooks belong to an agent: pass `this` from an Agent's method");
  return runtime;
}
