import type { AgentCaller } from "../agent/context.ts";
import { errorFromWire, errorToWire, type WireError } from "../shards/error-wire.ts";
import { deserializeClone, serializeClone } from "../web/structured-clone.ts";

/** The requests nodes send each other: paths, headers and the RPC envelope. */

/** Every request between nodes goes under this path; a client reaching it without the key gets 403. */
export const CLUSTER_PATH_PREFIX = "/__hearth/cluster/";

export const CLUSTER_HEADERS = {
  /** The cluster's shared key. */
  key: "x-hearth-cluster-key",
  /** A forwarded request's original URL. */
  url: "x-hearth-cluster-url",
  /** Set on an answer from a node that does not hold the actor (any more): look it up again. */
  moved: "x-hearth-cluster-moved",
  /**
   * Set on an answer (500) from the node a request was sent to whose route failed there — not because
   * the actor is elsewhere (that is {@link CLUSTER_HEADERS.moved}): the body is the error (an
   * {@link InvokeOutcome}); sending the request again would fail the same way, so it is not retried.
   */
  failed: "x-hearth-cluster-failed",
  /** Values attached to the request in-process (src/gateway/carried-context.ts), structured-cloned, base64. */
  carried: "x-hearth-cluster-carried",
} as const;

export type Operation = "agent" | "invoke" | "start";

export function clusterPath(operation: Operation, className: string, name: string): string {
  return `${CLUSTER_PATH_PREFIX}${operation}/${encodeURIComponent(className)}/${encodeURIComponent(name)}`;
}

/** What an internal invoke carries (structured clone, as between threads). */
export interface InvokeMessage {
  method: string;
  args: unknown[];
  caller?: AgentCaller;
}

/**
 * An invoke's result, or what it threw in the form threads use too (its class when both sides know it,
 * `cause`, an AggregateError's `errors`, own data properties). A node of an older version sends only
 * `{ name, message, stack }`, which reads back as an `Error` with that name.
 */
export type InvokeOutcome = { value: unknown } | { error: WireError };

/** The content type of an invoke's answer: a structured clone of an {@link InvokeOutcome}. */
export const INVOKE_CONTENT_TYPE = "application/x-hearth-v8";

/** The HTTP answer to an internal invoke or start. */
function invokeAnswer(outcome: InvokeOutcome): Response {
  return new Response(serializeClone(outcome), { headers: { "content-type": INVOKE_CONTENT_TYPE } });
}

/**
 * The answer of a node whose route of the actor failed ({@link CLUSTER_HEADERS.failed}): 500, the
 * error in the form an invoke's is.
 */
export function failedAnswer(error: unknown): Response {
  return new Response(serializeClone({ error: errorToWire(error) } satisfies InvokeOutcome), {
    status: 500,
    headers: { "content-type": INVOKE_CONTENT_TYPE, [CLUSTER_HEADERS.failed]: "1" },
  });
}

/** Whether `response` is a {@link failedAnswer} (not an agent's own answer that happens to carry the header). */
export function isFailedAnswer(response: Response): boolean {
  return response.status === 500 && response.headers.has(CLUSTER_HEADERS.failed) && response.headers.get("content-type") === INVOKE_CONTENT_TYPE;
}

/** The error a {@link failedAnswer} carries. */
export async function errorOfFailedAnswer(response: Response): Promise<unknown> {
  try {
    const outcome = deserializeClone(new Uint8Array(await response.arrayBuffer())) as InvokeOutcome;
    if ("error" in outcome) return errorFromWire(outcome.error);
  } catch {
    // not an outcome: a node of another version
  }
  return new Error(`the owning node answered ${response.status} (its route of the actor failed)`);
}

/**
 * The outcome of a local invoke or start, as the HTTP answer carries it. A result that cannot be
 * cloned is the caller's clone error, as between threads.
 */
export function settleInvoke(work: Promise<unknown>): Promise<Response> {
  const failed = (error: unknown) => invokeAnswer({ error: errorToWire(error) });
  return work.then((value) => {
    try {
      return invokeAnswer({ value });
    } catch (error) {
      return failed(error);
    }
  }, failed);
}
