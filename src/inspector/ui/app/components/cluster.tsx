/**
 * What the UI adds on a cluster node (the API then names nodes): which node holds an agent or wrote
 * a log line, which nodes did not answer in time, and the overview's numbers per node.
 */
import { Table } from "./table.tsx";
import { bytes, duration, num } from "../format.ts";

/** True when the API answered as a cluster node (its rows carry a `node`). */
export function inCluster(rows: ReadonlyArray<object>): boolean {
  return rows.some((row) => "node" in row);
}

/** The node that holds an agent (or wrote an entry); an agent no node holds is asleep in the cluster's log. */
export function NodeBadge({ node }: { node: string | null | undefined }) {
  if (node === null || node === undefined) return <span class="muted" title="No node holds it now: the next request wakes it on the node it reaches">asleep</span>;
  return (
    <span class="badge" title={`Held by cluster node ${node}`}>
      {node}
    </span>
  );
}

/** A notice naming the live nodes whose part of the answer is missing (they did not answer in 2 s). */
export function MissingNodes({ nodes }: { nodes: readonly string[] | undefined }) {
  if (nodes === undefined || nodes.length === 0) return null;
  return (
    <p class="error-text" role="status">
      {nodes.length === 1 ? "Node" : "Nodes"} {nodes.join(", ")} did not answer in time: {nodes.length === 1 ? "its" : "their"} part is missing here.
    </p>
  );
}

type N = number | null;

/** One node's row of the overview (`cluster.nodes`). */
export interface NodeOverviewRow {
  node: string;
  agents: { live: number; sockets: number };
  requests: { perSecond: N } | null;
  schedules: { due: N } | null;
  runtime: { eventLoopDelayP99Ms: N; rssBytes: N } | null;
  problems: number;
}

/** The overview's numbers per node. */
export function NodesTable({ nodes, here }: { nodes: readonly NodeOverviewRow[]; here: string }) {
  return (
    <Table
      caption="Cluster nodes"
      rows={[...nodes]}
      rowKey={(row) => row.node}
      empty="No node answered."
      columns={[
        { title: "Node", cell: (row) => <>{row.node}{row.node === here ? <span class="muted small"> (this one)</span> : null}</> },
        { title: "Live agents", cell: (row) => num(row.agents.live), numeric: true },
        { title: "WebSockets", cell: (row) => num(row.agents.sockets), numeric: true },
        { title: "Requests/s", cell: (row) => num(row.requests?.perSecond, 1), numeric: true },
        { title: "Due schedules", cell: (row) => num(row.schedules?.due), numeric: true },
        { title: "Event-loop delay p99", cell: (row) => duration(row.runtime?.eventLoopDelayP99Ms) },
        { title: "Memory (RSS)", cell: (row) => bytes(row.runtime?.rssBytes) },
        { title: "Problems", cell: (row) => num(row.problems), numeric: true },
      ]}
    />
  );
}
