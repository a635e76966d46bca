/**
 * The agent list and the class counts of a whole cluster: the list comes from the cluster's leases
 * (every agent the cluster ever held, each with the live node holding it, or none), and what only
 * its holder knows (in memory now, last active) is asked of each holder once per page.
 */
import { CATALOG_MAX_QUERY } from "../host/catalog.ts";
import { hostInternals } from "../host/introspect.ts";
import type { ClusterAgentRow, InspectorCluster } from "./cluster.ts";
import { fanOut, forwardedOf } from "./cluster-forward.ts";
import { CLUSTER_FAN_OUT_TIMEOUT_MS } from "./cluster.ts";
import { decodeCursor as decodeCatalogCursor, encodeCursor } from "../host/catalog.ts";
import { badRequest, pageLimit } from "./http.ts";
import type { Route, RouteContext } from "./router.ts";
import { classSummaries, type ClassSummary } from "./routes/agents.ts";

/** Where a node asks another what it knows of the agents it holds (only other nodes call it). */
export const DESCRIBE_AGENTS_PATH = "/api/cluster/agents/describe";

/** What the holder of an agent tells about it for the list. */
interface HeldAgentFacts {
  live: boolean;
  lastActiveAt: number | null;
  nextAlarmAt: number | null;
}

/** One item of `GET /api/agents` in a cluster. */
export interface ClusterAgentItem extends HeldAgentFacts {
  class: string;
  name: string;
  node: string | null;
  sockets: null;
  sizeBytes: null;
}

function factsHere(ctx: RouteContext, className: string, name: string): HeldAgentFacts {
  const { host } = ctx.sources;
  try {
    return {
      live: hostInternals(host).isLive(className, name),
      lastActiveAt: host.catalog.get(className, name)?.lastActiveAt ?? null,
      nextAlarmAt: host.nextWake(className, name)?.getTime() ?? null,
    };
  } catch {
    return { live: false, lastActiveAt: null, nextAlarmAt: null }; // a class this node does not run
  }
}

/** `GET /api/agents` for the whole cluster: `{ items: [{ …, node }], next, missingNodes }`. */
export async function clusterAgentList(ctx: RouteContext, cluster: InspectorCluster): Promise<{ items: ClusterAgentItem[]; next: string | null; missingNodes: string[] }> {
  const className = ctx.query.get("class") || undefined;
  const q = ctx.query.get("q") || undefined;
  if (q !== undefined && q.length > CATALOG_MAX_QUERY) throw badRequest(`q is at most ${CATALOG_MAX_QUERY} characters, got ${q.length}`);
  const cursor = ctx.query.get("cursor") || undefined;
  const limit = pageLimit(ctx.query);
  const page = await cluster.listAgents({ ...(className ? { class: className } : {}), ...(q ? { q } : {}), ...(cursor ? { after: decodeCursor(cursor) } : {}), limit });
  const byNode = new Map<string, ClusterAgentRow[]>();
  for (const row of page.items) if (row.node !== null && row.node !== cluster.nodeId) byNode.set(row.node, [...(byNode.get(row.node) ?? []), row]);
  const remote = new Map<string, HeldAgentFacts>();
  const missingNodes: string[] = [];
  await Promise.all(
    [...byNode].map(async ([node, rows]) => {
      try {
        const forwarded = { ...(await forwardedOf(ctx, cluster, DESCRIBE_AGENTS_PATH)), method: "POST" as const, body: { agents: rows.map((row) => [row.class, row.name]) } };
        const answer = await cluster.send(node, forwarded, CLUSTER_FAN_OUT_TIMEOUT_MS);
        if (answer.status !== 200) throw new Error(`answered ${answer.status}`);
        const facts = JSON.parse(answer.body) as HeldAgentFacts[];
        rows.forEach((row, i) => facts[i] && remote.set(`${row.class}\0${row.name}`, facts[i]));
      } catch {
        missingNodes.push(node);
      }
    }),
  );
  const items = page.items.map((row): ClusterAgentItem => {
    const facts = row.node === cluster.nodeId ? factsHere(ctx, row.class, row.name) : (remote.get(`${row.class}\0${row.name}`) ?? { live: false, lastActiveAt: null, nextAlarmAt: row.nextAlarmAt });
    return { class: row.class, name: row.name, node: row.node, live: facts.live, sockets: null, lastActiveAt: facts.lastActiveAt, sizeBytes: null, nextAlarmAt: facts.nextAlarmAt ?? row.nextAlarmAt };
  });
  const last = page.items.at(-1);
  return { items, next: page.more && last ? encodeCursor(last.slug, last.name) : null, missingNodes: missingNodes.sort() };
}

/** `GET /api/classes` for the whole cluster: live agents and sockets summed over the nodes, totals from the cluster's leases. */
export async function clusterClasses(ctx: RouteContext, cluster: InspectorCluster): Promise<ClassSummary[]> {
  const others = await fanOut<ClassSummary[]>(ctx, cluster, "/api/classes");
  return mergeClasses(classSummaries(ctx), others.answers.map((answer) => answer.value), await cluster.countByClass());
}

/** This node's class summaries with the live agents and sockets of the others added, and the cluster's totals. */
export function mergeClasses(own: readonly ClassSummary[], others: ReadonlyArray<readonly ClassSummary[]>, totals: ReadonlyArray<{ class: string; total: number }>): ClassSummary[] {
  const totalOf = new Map(totals.map((row) => [row.class, row.total]));
  const added = (className: string, field: "live" | "sockets"): number => others.reduce((sum, classes) => sum + (classes.find((one) => one.class === className)?.[field] ?? 0), 0);
  return own.map((summary): ClassSummary => {
    const live = summary.live + added(summary.class, "live");
    const total = totalOf.get(summary.class) ?? 0;
    return { ...summary, live, sockets: summary.sockets + added(summary.class, "sockets"), total, hibernated: Math.max(0, total - live) };
  });
}

/** The routes only other nodes call (never reachable from a browser). */
export const clusterInternalRoutes: Route[] = [
  {
    method: "POST",
    path: DESCRIBE_AGENTS_PATH,
    handler: async (ctx) => {
      const body = await ctx.body();
      const agents = Array.isArray(body.agents) ? body.agents : [];
      return { json: agents.map((pair: unknown) => (Array.isArray(pair) && typeof pair[0] === "string" && typeof pair[1] === "string" ? factsHere(ctx, pair[0], pair[1]) : null)) };
    },
  },
];

/** The catalog's cursor, its error answered as a bad request. */
function decodeCursor(cursor: string): [string, string] {
  try {
    return decodeCatalogCursor(cursor);
  } catch (error) {
    throw badRequest((error as Error).message);
  }
}
