/**
 * `GET /api/overview` on a cluster node: every live node's own overview, added up (agents,
 * connections, requests, schedules, workflows, team runs, tokens, problems), with each node's own
 * numbers under `cluster.nodes` and the nodes that did not answer in time under `cluster.missing`.
 */
import type { InspectorCluster } from "./cluster.ts";
import { mergeClasses } from "./cluster-agents.ts";
import { fanOut } from "./cluster-forward.ts";
import type { RouteContext } from "./router.ts";
import type { ClassSummary } from "./routes/agents.ts";

/** How many problems the overview lists (as on one node). */
const PROBLEMS = 20;

/** The parts of one node's overview this merge reads. */
interface NodeOverview {
  agents: { classes: ClassSummary[] };
  requests: { perSecond: number | null; errorRate: number | null; p50Ms: number | null; p95Ms: number | null; total: number } | null;
  schedules: { agentsWithTasks: number; nextAt: number | null; due: number; lagP99Ms: number | null };
  workflows: Record<string, number> | null;
  teamRuns: Record<string, number> | null;
  tokens: { today: Array<{ model: string; class: string; input: number; output: number; costUsd: number }> };
  runtime: Record<string, number | null>;
  problems: Array<Record<string, unknown>>;
}

const sumOf = (values: Array<number | null | undefined>): number | null => (values.some((value) => typeof value === "number") ? values.reduce<number>((total, value) => total + (value ?? 0), 0) : null);
const maxOf = (values: Array<number | null | undefined>): number | null => {
  const numbers = values.filter((value): value is number => typeof value === "number");
  return numbers.length ? Math.max(...numbers) : null;
};

/** Adds up count records (`{ running: 1, waiting: 0 }`) of the nodes that have them. */
function addCounts(records: Array<Record<string, number> | null>): Record<string, number> | null {
  const present = records.filter((record): record is Record<string, number> => record !== null);
  if (present.length === 0) return null;
  const total: Record<string, number> = {};
  for (const record of present) for (const [key, value] of Object.entries(record)) total[key] = (total[key] ?? 0) + (typeof value === "number" ? value : 0);
  return total;
}

/**
 * The cluster's overview from this node's own (`local`) and every other live node's.
 * @example
 * const json = await clusterOverview(ctx, cluster, localOverview);
 */
export async function clusterOverview(ctx: RouteContext, cluster: InspectorCluster, local: NodeOverview): Promise<Record<string, unknown>> {
  const [others, totals] = await Promise.all([fanOut<NodeOverview>(ctx, cluster, "/api/overview"), cluster.countByClass()]);
  const all = [{ node: cluster.nodeId, value: local }, ...others.answers];
  const overviews = all.map((one) => one.value);
  const requests = overviews.map((one) => one.requests).filter((one) => one !== null);
  const perSecond = sumOf(requests.map((one) => one.perSecond));
  const errorsPerSecond = sumOf(requests.map((one) => (one.perSecond ?? 0) * (one.errorRate ?? 0)));
  const tokens = new Map<string, NodeOverview["tokens"]["today"][number]>();
  for (const row of overviews.flatMap((one) => one.tokens.today)) {
    const key = `${row.model}\0${row.class}`;
    const seen = tokens.get(key);
    tokens.set(key, seen ? { ...seen, input: seen.input + row.input, output: seen.output + row.output, costUsd: seen.costUsd + row.costUsd } : { ...row });
  }
  const nextAts = overviews.map((one) => one.schedules.nextAt).filter((at): at is number => at !== null);
  return {
    ...local,
    agents: { classes: mergeClasses(local.agents.classes, others.answers.map((answer) => answer.value.agents.classes), totals) },
    requests: requests.length
      ? { perSecond, errorRate: perSecond ? (errorsPerSecond ?? 0) / perSecond : perSecond === null ? null : 0, p50Ms: maxOf(requests.map((one) => one.p50Ms)), p95Ms: maxOf(requests.map((one) => one.p95Ms)), total: sumOf(requests.map((one) => one.total)) ?? 0 }
      : null,
    schedules: {
      agentsWithTasks: sumOf(overviews.map((one) => one.schedules.agentsWithTasks)) ?? 0,
      nextAt: nextAts.length ? Math.min(...nextAts) : null,
      due: sumOf(overviews.map((one) => one.schedules.due)) ?? 0,
      lagP99Ms: maxOf(overviews.map((one) => one.schedules.lagP99Ms)),
    },
    workflows: addCounts(overviews.map((one) => one.workflows)),
    teamRuns: addCounts(overviews.map((one) => one.teamRuns)),
    tokens: { today: [...tokens.values()] },
    problems: all
      .flatMap((one) => one.value.problems.map((problem): Record<string, unknown> => ({ ...problem, node: one.node })))
      .sort((a, b) => Number(b.lastAt ?? 0) - Number(a.lastAt ?? 0))
      .slice(0, PROBLEMS),
    cluster: {
      node: cluster.nodeId,
      missing: others.missing,
      nodes: all.map((one) => ({
        node: one.node,
        agents: {
          live: one.value.agents.classes.reduce((sum, row) => sum + row.live, 0),
          sockets: one.value.agents.classes.reduce((sum, row) => sum + row.sockets, 0),
        },
        requests: one.value.requests,
        schedules: one.value.schedules,
        workflows: one.value.workflows,
        runtime: one.value.runtime,
        problems: one.value.problems.length,
      })),
    },
  };
}
