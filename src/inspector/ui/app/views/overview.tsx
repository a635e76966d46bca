/** Overview: the health of the host at a glance, refreshed every few seconds. */
import { Table } from "../components/table.tsx";
import { Loaded } from "../components/status.tsx";
import { MissingNodes, NodesTable, type NodeOverviewRow } from "../components/cluster.tsx";
import { ago, bytes, duration, num, percent, usd } from "../format.ts";
import { useApi } from "../hooks.ts";
import { href } from "../router.ts";

/** How often the overview refreshes. */
const REFRESH_MS = 5000;

/** Numbers the host cannot know (no metrics source, no workflows) are null. */
type N = number | null;

export interface Overview {
  agents: { classes: { class: string; live: number; hibernated: number; total: N; sockets: number }[] };
  requests: { perSecond: N; errorRate: N; p50Ms: N; p95Ms: N } | null;
  schedules: { due: N; lagP99Ms: N; nextAt?: N } | null;
  workflows: { running: N; waiting: N; errored: N } | null;
  teamRuns: { running: N } | null;
  tokens: { today: { model: string; class: string; input: number; output: number; costUsd: number }[] } | null;
  runtime: { eventLoopDelayP99Ms: N; rssBytes: N; heapUsedBytes: N; uptimeSeconds: N } | null;
  problems: {
    fingerprint: string;
    message: string;
    class?: string;
    count: number;
    firstAt: number;
    lastAt: number;
    traceId?: string;
    agent?: { class: string; name: string };
    /** On a cluster node: the node that recorded it. */
    node?: string;
  }[];
  /** On a cluster node: the numbers above are the cluster's; these are each node's. */
  cluster?: { node: string; missing: string[]; nodes: NodeOverviewRow[] };
}

export function OverviewView() {
  const overview = useApi<Overview>("/api/overview", REFRESH_MS);
  return (
    <section>
      <h1>Overview</h1>
      <Loaded resource={overview}>{(data) => <OverviewBody data={data} />}</Loaded>
    </section>
  );
}

function Card({ label, value, link }: { label: string; value: string; link?: string }) {
  return (
    <div class="card stat">
      <div class="stat-label">{label}</div>
      <div class="stat-value">{link === undefined ? value : <a href={link}>{value}</a>}</div>
    </div>
  );
}

function OverviewBody({ data }: { data: Overview }) {
  const classes = data.agents.classes;
  const live = classes.reduce((sum, c) => sum + c.live, 0);
  const totals = classes.map((c) => c.total);
  const total = totals.some((t) => t === null) ? null : totals.reduce<number>((sum, t) => sum + (t ?? 0), 0);
  const sockets = classes.reduce((sum, c) => sum + c.sockets, 0);
  const today = data.tokens?.today ?? [];
  const cost = today.reduce((sum, t) => sum + t.costUsd, 0);
  const tokens = today.reduce((sum, t) => sum + t.input + t.output, 0);
  const { requests, schedules, workflows, teamRuns, runtime } = data;
  return (
    <>
      {data.cluster !== undefined && <MissingNodes nodes={data.cluster.missing} />}
      <div class="cards">
        <Card label="Live agents" value={total === null ? num(live) : `${num(live)} / ${num(total)}`} link={href(["agents"])} />
        <Card label="WebSockets" value={num(sockets)} />
        <Card label="Requests/s" value={num(requests?.perSecond, 1)} link={href(["metrics"])} />
        <Card label="Errors" value={percent(requests?.errorRate)} link={href(["traces"], { error: "true" })} />
        <Card label="Latency p50 / p95" value={`${duration(requests?.p50Ms)} / ${duration(requests?.p95Ms)}`} />
        <Card label="Due schedules" value={num(schedules?.due)} />
        <Card label="Schedule lag p99" value={duration(schedules?.lagP99Ms)} />
        <Card
          label="Workflows running"
          value={
            workflows === null
              ? "—"
              : `${num(workflows.running)} (${num(workflows.waiting)} waiting, ${num(workflows.errored)} errored)`
          }
          link={href(["workflows"], { status: "running" })}
        />
        <Card label="Team runs running" value={num(teamRuns?.running)} link={href(["team-runs"], { status: "running" })} />
        <Card label="Tokens today" value={num(tokens)} />
        <Card label="Cost today" value={usd(cost)} />
        <Card label="Event-loop delay p99" value={duration(runtime?.eventLoopDelayP99Ms)} />
        <Card label="Memory (RSS / heap)" value={`${bytes(runtime?.rssBytes)} / ${bytes(runtime?.heapUsedBytes)}`} />
      </div>
      <h2>Recent problems</h2>
      <Table
        caption="Recent problems grouped by fingerprint"
        rows={data.problems}
        rowKey={(p) => p.fingerprint}
        empty="No errors recorded."
        columns={[
          { title: "Error", cell: (p) => <span class="error-text">{p.message}</span> },
          { title: "Count", cell: (p) => num(p.count), numeric: true },
          { title: "Last seen", cell: (p) => ago(p.lastAt) },
          ...(data.cluster !== undefined ? [{ title: "Node", cell: (p: Overview["problems"][number]) => p.node ?? "—" }] : []),
          {
            title: "Agent",
            cell: (p) =>
              p.agent === undefined ? (p.class ?? "—") : (
                <a href={href(["agents", p.agent.class, p.agent.name])}>
                  {p.agent.class}/{p.agent.name}
                </a>
              ),
          },
          {
            title: "Links",
            cell: (p) => (
              <span class="row">
                {p.traceId !== undefined && (
                  <a href={href(["traces", p.traceId])} aria-label={`Trace of ${p.message}`}>
                    Trace
                  </a>
                )}
                <a
                  href={href(["logs"], {
                    level: "error",
                    traceId: p.traceId,
                    class: p.traceId === undefined ? p.agent?.class : undefined,
                    agent: p.traceId === undefined ? p.agent?.name : undefined,
                  })}
                  aria-label={`Logs of ${p.message}`}
                >
                  Logs
                </a>
              </span>
            ),
          },
        ]}
      />
      {data.cluster !== undefined && (
        <>
          <h2>Cluster nodes</h2>
          <NodesTable nodes={data.cluster.nodes} here={data.cluster.node} />
        </>
      )}
      <h2>Agents by class</h2>
      <Table
        caption="Agents by class"
        rows={classes}
        rowKey={(c) => c.class}
        empty="No agent classes."
        columns={[
          { title: "Class", cell: (c) => <a href={href(["agents", c.class])}>{c.class}</a> },
          { title: "Live", cell: (c) => num(c.live), numeric: true },
          { title: "Hibernated", cell: (c) => num(c.hibernated), numeric: true },
          { title: "Total", cell: (c) => num(c.total), numeric: true },
          { title: "WebSockets", cell: (c) => num(c.sockets), numeric: true },
        ]}
      />
      <h2>Tokens and cost today</h2>
      <Table
        caption="Tokens and cost today by model and class"
        rows={today}
        rowKey={(t) => `${t.model}|${t.class}`}
        empty="No model calls today."
        columns={[
          { title: "Model", cell: (t) => <a href={href(["traces"], { model: t.model })}>{t.model}</a> },
          { title: "Class", cell: (t) => t.class },
          { title: "Input", cell: (t) => num(t.input), numeric: true },
          { title: "Output", cell: (t) => num(t.output), numeric: true },
          { title: "Cost", cell: (t) => usd(t.costUsd), numeric: true },
        ]}
      />
    </>
  );
}
