import { serialize } from "node:v8";
import type { AgentCaller } from "../agent/context.ts";

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

export type InvokeOutcome = { value: unknown } | { error: { name: string; message: string; stack?: string } };

/** The HTTP answer to an internal invoke or start. */
export function invokeAnswer(outcome: InvokeOutcome): Response {
  return new Response(serialize(outcome), { headers: { "content-type": "application/x-hearth-v8" } });
}

export function errorShape(error: unknown): { name: string; message: string; stack?: string } {
  if (error instanceof Error) return { name: error.name, message: error.message, ...(error.stack ? { stack: error.stack } : {}) };
  return { name: "Error", message: String(error) };
}
