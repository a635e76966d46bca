/**
 * The asking side of the inspector in a cluster: a request about something another node holds runs
 * there (forwarded under the caller's role), and a cluster-wide answer gathers every live node's part
 * in parallel, leaving out (and naming) a node that does not answer in time.
 */
import {
  CLUSTER_FAN_OUT_TIMEOUT_MS,
  CLUSTER_FORWARD_RETRY_MS,
  CLUSTER_FORWARD_TIMEOUT_MS,
  type ForwardedAnswer,
  type ForwardedRequest,
  type InspectorCluster,
  type InspectorTarget,
} from "./cluster.ts";
import { ApiError, type Reply } from "./http.ts";
import type { RouteContext } from "./router.ts";

/** The request of `ctx` as another node runs it (its body read here for a change). */
export async function forwardedOf(ctx: RouteContext, cluster: InspectorCluster, path?: string): Promise<ForwardedRequest> {
  const method = (ctx.request.method ?? "GET") === "HEAD" ? "GET" : (ctx.request.method as ForwardedRequest["method"]);
  return {
    method,
    path: path ?? ctx.request.url ?? "/",
    role: ctx.role,
    from: cluster.nodeId,
    ...(method === "GET" ? {} : { body: await ctx.body() }),
  };
}

/** A forwarded answer as this node's reply. */
export function replyOf(answer: ForwardedAnswer): Reply {
  return { status: answer.status, text: answer.body, contentType: answer.contentType };
}

/** An answer that says the asked node no longer holds what the request is about: the asker looks again. */
export function isMoved(answer: ForwardedAnswer): boolean {
  return answer.status === 503 && answer.body.includes('"code":"moved"');
}

/** The error a node answers when a forwarded request reached it but the agent (or engine) is held elsewhere now. */
export function movedError(what: string, nodeId: string): ApiError {
  return new ApiError(503, "moved", `${what} is not held by node ${nodeId} any more`);
}

/**
 * Runs the request of `ctx` where `target()` says: here through `local`, or on the node holding it.
 * A holder that moved or cannot be reached is looked up again for {@link CLUSTER_FORWARD_RETRY_MS}.
 */
export async function runAtTarget(
  ctx: RouteContext,
  cluster: InspectorCluster,
  what: string,
  target: () => Promise<InspectorTarget>,
  forget: () => void,
  local: () => Promise<Reply> | Reply,
): Promise<Reply> {
  const forwarded = await forwardedOf(ctx, cluster);
  const deadline = performance.now() + CLUSTER_FORWARD_RETRY_MS;
  for (let wait = 25; ; wait = Math.min(wait * 2, 500)) {
    const where = await target();
    if (where.local) return local();
    let failure: string;
    try {
      const answer = await cluster.send(where.nodeId, forwarded, CLUSTER_FORWARD_TIMEOUT_MS);
      if (!isMoved(answer)) return replyOf(answer);
      failure = `node ${where.nodeId} no longer holds it`;
    } catch (error) {
      failure = `node ${where.nodeId} did not answer (${(error as Error).message})`;
    }
    forget();
    if (performance.now() > deadline) throw new ApiError(502, "node_unreachable", `${what}: ${failure}; no node answered for it within ${CLUSTER_FORWARD_RETRY_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

/** Every other live node's answer to `path`, parsed, and the nodes that did not answer in time. */
export interface FanOut<T> {
  answers: Array<{ node: string; value: T }>;
  missing: string[];
}

/**
 * Asks every other live node for its own answer to `path` (GET, under the caller's role), in
 * parallel, waiting {@link CLUSTER_FAN_OUT_TIMEOUT_MS} at most for each.
 * @example
 * const { answers, missing } = await fanOut<{ items: unknown[] }>(ctx, cluster, "/api/logs?limit=50");
 */
export async function fanOut<T>(ctx: RouteContext, cluster: InspectorCluster, path: string): Promise<FanOut<T>> {
  const others = (await cluster.nodes()).filter((node) => node.nodeId !== cluster.nodeId);
  const results = await Promise.all(
    others.map(async ({ nodeId }) => {
      try {
        const answer = await cluster.send(nodeId, { method: "GET", path, role: ctx.role, from: cluster.nodeId }, CLUSTER_FAN_OUT_TIMEOUT_MS);
        if (answer.status !== 200) return { node: nodeId, failed: true as const };
        return { node: nodeId, value: JSON.parse(answer.body) as T };
      } catch {
        return { node: nodeId, failed: true as const };
      }
    }),
  );
  const answers: FanOut<T>["answers"] = [];
  const missing: string[] = [];
  for (const result of results) {
    if ("value" in result) answers.push({ node: result.node, value: result.value as T });
    else missing.push(result.node);
  }
  return { answers, missing };
}
