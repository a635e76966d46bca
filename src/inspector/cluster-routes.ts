/**
 * The inspector's routes made cluster-wide once it joined a cluster (docs/inspector/cluster.md):
 * requests about one agent run on the node holding it, a workflow instance's detail on the node holding
 * its partition (its actions go through the bindings, which reach that node themselves), and the agent
 * and workflow lists, classes, overview, traces and logs gather every live node's.
 * Without a cluster (or for a request another node forwarded) each route answers as on one node.
 */
import type { ClusterRef, InspectorCluster } from "./cluster.ts";
import { clusterAgentList, clusterClasses } from "./cluster-agents.ts";
import { movedError, runAtTarget } from "./cluster-forward.ts";
import { clusterTrace, mergedPage } from "./cluster-merge.ts";
import { clusterOverview } from "./cluster-overview.ts";
import { ApiError, type Reply } from "./http.ts";
import { STREAMED, type Route, type RouteContext } from "./router.ts";

type Handler = Route["handler"];

/** Runs `handler` and expects an answer (none of the wrapped routes streams). */
async function answered(handler: Handler, ctx: RouteContext): Promise<Reply> {
  const reply = await handler(ctx);
  if (reply === STREAMED) throw new ApiError(500, "internal", "a streamed answer where a reply was expected");
  return reply;
}

/** The same context with another query (a node's own page of a merged list). */
function withQuery(ctx: RouteContext, query: URLSearchParams): RouteContext {
  return { ...ctx, query };
}

/** A route about agent `:class`/`:name`: run where it is held. */
function agentScoped(route: Route, ref: ClusterRef): Handler {
  return async (ctx) => {
    const cluster = ref.current;
    if (!cluster) return route.handler(ctx);
    const className = ctx.params.class!;
    const name = ctx.params.name!;
    if (ctx.forwardedFrom !== undefined) {
      // Asked by another node: answer only while holding the agent (else the asker looks again, also
      // when this node cannot claim it now: draining, or its membership lost).
      const where = await cluster.agentTarget(className, name).catch(() => undefined);
      if (where === undefined || !where.local) throw movedError(`${className}/${name}`, cluster.nodeId);
      return route.handler(ctx);
    }
    return runAtTarget(ctx, cluster, `${className}/${name}`, () => cluster.agentTarget(className, name), () => cluster.forget(className, name), () => answered(route.handler, ctx));
  };
}

/** A workflow instance's detail (`:workflow`/`:id`): read where its partition is held. */
function workflowScoped(route: Route, ref: ClusterRef): Handler {
  return async (ctx) => {
    const cluster = ref.current;
    if (!cluster) return route.handler(ctx);
    const workflow = ctx.params.workflow!;
    const id = ctx.params.id!;
    const what = `${workflow} instance ${id}`;
    if (ctx.forwardedFrom !== undefined) {
      const where = await cluster.workflowTarget(workflow, id);
      if (!where.local) throw movedError(what, cluster.nodeId);
      return route.handler(ctx);
    }
    return runAtTarget(ctx, cluster, what, () => cluster.workflowTarget(workflow, id), () => undefined, () => answered(route.handler, ctx));
  };
}

/** A route whose cluster answer gathers every node's: `gather` makes it from this node's own handler. */
function gathered(route: Route, ref: ClusterRef, gather: (ctx: RouteContext, cluster: InspectorCluster, local: Handler) => Promise<Reply>): Handler {
  return (ctx) => {
    const cluster = ref.current;
    if (!cluster || ctx.forwardedFrom !== undefined) return route.handler(ctx);
    return gather(ctx, cluster, route.handler);
  };
}

/** An agent's summary with the node that holds it (the one answering), in a cluster. */
function namingHolder(handler: Handler, ref: ClusterRef): Handler {
  return async (ctx) => {
    const reply = await answered(handler, ctx);
    const cluster = ref.current;
    return cluster ? { ...reply, json: { ...(reply.json as Record<string, unknown>), node: cluster.nodeId } } : reply;
  };
}

/** A team run's identity: a run whose agent moved is in the index of each node that held it. */
const teamRunKey = (item: Record<string, unknown>): string => JSON.stringify([item.class, item.name, item.sub, item.runId]);

const GATHERS: Record<string, (ctx: RouteContext, cluster: InspectorCluster, local: Handler) => Promise<Reply>> = {
  "GET /api/session": async (ctx, cluster, local) => {
    const reply = await answered(local, ctx);
    return { ...reply, json: { ...(reply.json as Record<string, unknown>), cluster: { node: cluster.nodeId } } };
  },
  "GET /api/agents": async (ctx, cluster) => ({ json: await clusterAgentList(ctx, cluster) }),
  "GET /api/classes": async (ctx, cluster) => ({ json: await clusterClasses(ctx, cluster) }),
  "GET /api/overview": async (ctx, cluster, local) => ({ json: await clusterOverview(ctx, cluster, (await answered(local, ctx)).json as Parameters<typeof clusterOverview>[2]) }),
  "GET /api/traces": async (ctx, cluster, local) => ({ json: await mergedPage(ctx, cluster, "/api/traces", "startedAt", (query) => answered(local, withQuery(ctx, query))) }),
  "GET /api/logs": async (ctx, cluster, local) => ({ json: await mergedPage(ctx, cluster, "/api/logs", "time", (query) => answered(local, withQuery(ctx, query))) }),
  "GET /api/workflows": async (ctx, cluster, local) => ({ json: await mergedPage(ctx, cluster, "/api/workflows", "updatedAt", (query) => answered(local, withQuery(ctx, query))) }),
  "GET /api/team-runs": async (ctx, cluster, local) => ({ json: await mergedPage(ctx, cluster, "/api/team-runs", "startedAt", (query) => answered(local, withQuery(ctx, query)), teamRunKey) }),
  "GET /api/traces/:traceId": (ctx, cluster, local) => clusterTrace(ctx, cluster, () => answered(local, ctx)),
  // Each node (thread) audits the changes to its own agents, in its own file.
  "GET /api/audit": async (ctx, cluster, local) => ({ json: await mergedPage(ctx, cluster, "/api/audit", "at", (query) => answered(local, withQuery(ctx, query))) }),
};

/**
 * The routes, each answering for the whole cluster while `ref.current` is set.
 * @example
 * const ref: ClusterRef = { current: undefined };
 * const routes = clusterAwareRoutes([...agentRoutes, ...workflowRoutes], ref);
 * ref.current = cluster; // from now on: cluster-wide
 */
export function clusterAwareRoutes(routes: readonly Route[], ref: ClusterRef): Route[] {
  return routes.map((route): Route => {
    const gather = GATHERS[`${route.method} ${route.path}`];
    if (gather) return { ...route, handler: gathered(route, ref, gather) };
    if (route.method === "GET" && route.path === "/api/agents/:class/:name") return { ...route, handler: agentScoped({ ...route, handler: namingHolder(route.handler, ref) }, ref) };
    if (route.path.startsWith("/api/agents/:class/:name") || route.path.startsWith("/api/team-runs/:class/:name")) return { ...route, handler: agentScoped(route, ref) };
    if (route.method === "GET" && route.path === "/api/workflows/:workflow/:id") return { ...route, handler: workflowScoped(route, ref) };
    return route;
  });
}
