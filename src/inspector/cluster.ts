/**
 * What the inspector needs of a cluster to show all of it (docs/inspector/cluster.md): which nodes are
 * live, which node holds an agent or the workflow engine, the cluster's agent list, and a way to run an
 * inspector request on another node. Declared here, implemented by src/cluster/inspector-view.ts, so the
 * inspector never touches Postgres.
 */
import type { Role } from "./security.ts";
import type { StreamRelay } from "./stream.ts";

/** An inspector request sent to another node, run there by its own inspector under the caller's role. */
export interface ForwardedRequest {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path and query, as the caller sent them (`/api/agents/Chat/a/state?sub=…`). */
  path: string;
  /** The caller's role on the node that was asked: a viewer stays a viewer on every node. */
  role: Role;
  /** The node that forwards (audit rows on the node that runs the request name it). */
  from: string;
  /** The JSON body (requests that change something). */
  body?: Record<string, unknown>;
}

/** What the node that ran a {@link ForwardedRequest} answered. */
export interface ForwardedAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** Where a request runs: this node, or the node that holds what it is about. */
export type InspectorTarget = { local: true } | { local: false; nodeId: string };

/** One agent of the cluster's list, from the cluster's leases. */
export interface ClusterAgentRow {
  class: string;
  name: string;
  /** The live node holding it now; null when nobody does (asleep in the cluster's log). */
  node: string | null;
  /** Its next wake as its holder last wrote it (epoch ms), or null. */
  nextAlarmAt: number | null;
}

/** A node of the cluster that is alive or draining. */
export interface ClusterNodeInfo {
  nodeId: string;
  state: string;
}

/**
 * The cluster as the inspector sees it.
 * @example
 * const target = await cluster.agentTarget("Chat", "a");
 * if (!target.local) await cluster.send(target.nodeId, { method: "GET", path: "/api/agents/Chat/a/state", role: "viewer", from: cluster.nodeId });
 */
export interface InspectorCluster {
  /** This node's id. */
  readonly nodeId: string;
  /**
   * Where a request about agent `className`/`name` runs: here when this node holds it (claiming it
   * when no live node does, as any request would) or when the cluster never had it (here answers 404);
   * otherwise the node that holds it.
   */
  agentTarget(className: string, name: string): Promise<InspectorTarget>;
  /** Where instance `id` of `workflow` runs (the holder of its partition); here when no live node holds it. */
  workflowTarget(workflow: string, id: string): Promise<InspectorTarget>;
  /** The holder named by the last target did not have it (moved or unreachable): look again next time. */
  forget(className: string, name: string): void;
  /** A page of the cluster's agents, ordered by class storage name then name, after `after` (a `[slug, name]` of the last page). */
  listAgents(query: { class?: string; q?: string; after?: readonly [string, string]; limit: number }): Promise<{ items: Array<ClusterAgentRow & { slug: string }>; more: boolean }>;
  /** How many agents each class has in the whole cluster (its leases). */
  countByClass(): Promise<Array<{ class: string; total: number }>>;
  /** The nodes that are alive or draining, this one included. */
  nodes(): Promise<ClusterNodeInfo[]>;
  /** The other hosts' live events, logs and spans, for the live stream (the threads of one process; a cluster's stay per node). */
  readonly relay?: StreamRelay;
  /** Runs `request` on `nodeId`'s inspector; rejects when the node cannot be reached or does not answer within `timeoutMs`. */
  send(nodeId: string, request: ForwardedRequest, timeoutMs: number): Promise<ForwardedAnswer>;
}

/** Runs a forwarded request through this node's own inspector (what {@link InspectorCluster.send} reaches on the other side). */
export type ForwardedDispatch = (request: ForwardedRequest) => Promise<ForwardedAnswer>;

/** How long a node waits for another's part of a cluster-wide answer before leaving it out. */
export const CLUSTER_FAN_OUT_TIMEOUT_MS = 2_000;

/** How long a request about one agent keeps looking for its holder (it moved, or its node died). */
export const CLUSTER_FORWARD_RETRY_MS = 5_000;

/** How long one forwarded request about one agent may take (a SQL query, a method run). */
export const CLUSTER_FORWARD_TIMEOUT_MS = 30_000;

/** The inspector's cluster, once it joined one (set after start: see `InspectorHandle.joinCluster`). */
export interface ClusterRef {
  current: InspectorCluster | undefined;
}
