import type { AgentCaller } from "../agent/context.ts";
import { errorToWire, type WireError } from "../shards/error-wire.ts";
import { serializeClone } from "../web/structured-clone.ts";

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

/** The HTTP answer to an internal invoke or start. */
function invokeAnswer(outcome: InvokeOutcome): Response {
  return new Response(serializeClone(outcome), { headers: { "content-type": "application/x-hearth-v8" } });
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
