import type pg from "pg";
import type { Host } from "../platform/host.ts";
import type { ClusterAgentRow, ClusterNodeInfo, ForwardedAnswer, ForwardedDispatch, ForwardedRequest, InspectorCluster, InspectorTarget } from "../inspector/cluster.ts";
import { INSPECTOR_LIMITS } from "../inspector/limits.ts";
import { INSPECTOR_PATH } from "./internal-routes.ts";
import type { Route } from "./ownership.ts";
import { clusterTables, type ClusterTables } from "./pg/schema.ts";
import { SERVICE_KIND_PREFIX } from "./services.ts";
import { CLUSTER_HEADERS } from "./wire.ts";
import { WORKFLOWS_SERVICE, workflowPartitionOf } from "./workflows.ts";

/** What the view needs of its node (`ClusterNode.inspectorAccess` and its id). */
export interface InspectorViewNode {
  readonly nodeId: string;
  readonly inspectorAccess: { pool: pg.Pool; schema: string; key: string; route(actorId: string): Promise<Route>; forget(actorId: string): void };
}

/** The inspector's view of a cluster, and this node's side of forwarded inspector requests. */
export interface ClusterInspectorView extends InspectorCluster {
  /** Answers a request another node's inspector forwarded ({@link INSPECTOR_PATH}, key already checked). */
  answer(request: Request): Promise<Response>;
  /** Where forwarded requests run: this node's inspector (`InspectorHandle.joinCluster`); until then they are refused. */
  attach(dispatch: ForwardedDispatch | undefined): void;
}

/** A forwarded envelope is the request's JSON body and a little more: refused past this many bytes. */
const MAX_ENVELOPE_BYTES = INSPECTOR_LIMITS.maxBodyBytes + 64 * 1024;

/** Nodes that may answer (a draining node still answers for what it holds). */
const LIVE = "state IN ('alive', 'draining')";

/**
 * The cluster as the inspector sees it, read from the cluster's Postgres tables (nodes, leases, next
 * wakes) and reaching other nodes' inspectors over the internal routes under the cluster key.
 * @example
 * const view = clusterInspectorView(node, host);
 * const fetch = withInspectorRoute(node.wrapFetch(worker.fetch), { key: node.inspectorAccess.key, answer: (request) => view.answer(request) });
 * view.attach(inspector.joinCluster(view));
 */
export function clusterInspectorView(node: InspectorViewNode, host: Pick<Host, "storageSlugOf" | "classNameOf">): ClusterInspectorView {
  const access = node.inspectorAccess;
  const t: ClusterTables = clusterTables(access.schema);
  let dispatch: ForwardedDispatch | undefined;
  const slugOf = (className: string): string => {
    try {
      return host.storageSlugOf(className);
    } catch {
      return className; // a class this node does not run: matches nothing
    }
  };

  return {
    nodeId: node.nodeId,

    async agentTarget(className, name) {
      let slug: string;
      try {
        slug = host.storageSlugOf(className);
      } catch {
        return { local: true }; // no such class here: this node answers 404
      }
      const actorId = `${slug}/${name}`;
      const { rows } = await access.pool.query(`SELECT 1 FROM ${t.lease} WHERE actor_id = $1 AND epoch > 0`, [actorId]);
      if (rows.length === 0) return { local: true }; // never created in the cluster: this node answers 404
      const route = await access.route(actorId);
      return route.here ? { local: true } : { local: false, nodeId: route.nodeId };
    },

    async workflowTarget(workflow, id): Promise<InspectorTarget> {
      const { rows } = await access.pool.query<{ owner: string }>(
        `SELECT l.owner FROM ${t.lease} l JOIN ${t.nodes} n ON n.node_id = l.owner AND n.incarnation = l.owner_incarnation AND n.${LIVE} WHERE l.actor_id = $1`,
        [`${WORKFLOWS_SERVICE}/${workflowPartitionOf(workflow, id)}`],
      );
      const owner = rows[0]?.owner;
      return owner === undefined || owner === node.nodeId ? { local: true } : { local: false, nodeId: owner };
    },

    forget(className, name) {
      access.forget(`${slugOf(className)}/${name}`);
    },

    async listAgents(query) {
      const where = [`l.actor_id NOT LIKE '${SERVICE_KIND_PREFIX}%'`, "l.epoch > 0"];
      const params: unknown[] = [];
      if (query.class !== undefined) {
        params.push(`${likeEscaped(slugOf(query.class))}/%`);
        where.push(`l.actor_id LIKE $${params.length} ESCAPE '\\'`);
      }
      if (query.q !== undefined) {
        params.push(`%${likeEscaped(query.q)}%`);
        where.push(`substr(l.actor_id, strpos(l.actor_id, '/') + 1) LIKE $${params.length} ESCAPE '\\'`);
      }
      if (query.after !== undefined) {
        params.push(`${query.after[0]}/${query.after[1]}`);
        where.push(`l.actor_id COLLATE "C" > $${params.length}`);
      }
      params.push(query.limit + 1);
      const { rows } = await access.pool.query<{ actor_id: string; node: string | null; due: number | null }>(
        `SELECT l.actor_id, CASE WHEN n.${LIVE} AND n.incarnation = l.owner_incarnation THEN l.owner END AS node,
                (extract(epoch FROM d.due_at) * 1000)::float8 AS due
           FROM ${t.lease} l LEFT JOIN ${t.nodes} n ON n.node_id = l.owner LEFT JOIN ${t.due} d ON d.actor_id = l.actor_id
          WHERE ${where.join(" AND ")} ORDER BY l.actor_id COLLATE "C" LIMIT $${params.length}`,
        params,
      );
      const more = rows.length > query.limit;
      const items = rows.slice(0, query.limit).map((row): ClusterAgentRow & { slug: string } => {
        const slash = row.actor_id.indexOf("/");
        const slug = row.actor_id.slice(0, slash);
        return { slug, class: host.classNameOf(slug), name: row.actor_id.slice(slash + 1), node: row.node, nextAlarmAt: row.due === null ? null : Math.round(row.due) };
      });
      return { items, more };
    },

    async countByClass() {
      const { rows } = await access.pool.query<{ slug: string; total: string }>(
        `SELECT split_part(actor_id, '/', 1) AS slug, count(*) AS total FROM ${t.lease} WHERE actor_id NOT LIKE '${SERVICE_KIND_PREFIX}%' AND epoch > 0 GROUP BY 1`,
      );
      return rows.map((row) => ({ class: host.classNameOf(row.slug), total: Number(row.total) }));
    },

    async nodes(): Promise<ClusterNodeInfo[]> {
      const { rows } = await access.pool.query<{ node_id: string; state: string }>(`SELECT node_id, state FROM ${t.nodes} WHERE ${LIVE} ORDER BY node_id`);
      return rows.map((row) => ({ nodeId: row.node_id, state: row.state }));
    },

    async send(nodeId, request, timeoutMs) {
      const { rows } = await access.pool.query<{ address: string }>(`SELECT address FROM ${t.nodes} WHERE node_id = $1 AND ${LIVE}`, [nodeId]);
      const address = rows[0]?.address;
      if (address === undefined) throw new Error(`node ${nodeId} is not a live member of the cluster`);
      const response = await fetch(new URL(INSPECTOR_PATH, address), {
        method: "POST",
        headers: { [CLUSTER_HEADERS.key]: access.key, "content-type": "application/json" },
        body: JSON.stringify(request),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`node ${nodeId} answered ${response.status}: ${text.slice(0, 300)}`);
      return JSON.parse(text) as ForwardedAnswer;
    },

    async answer(request) {
      if (dispatch === undefined) return new Response(`Node ${node.nodeId} runs no inspector (started without it, or still starting)`, { status: 503 });
      const text = await request.text();
      if (Buffer.byteLength(text) > MAX_ENVELOPE_BYTES) return new Response(`A forwarded inspector request is at most ${MAX_ENVELOPE_BYTES} bytes`, { status: 413 });
      let forwarded: ForwardedRequest;
      try {
        forwarded = checkedEnvelope(JSON.parse(text) as unknown);
      } catch (error) {
        return new Response(`Not a forwarded inspector request: ${(error as Error).message}`, { status: 400 });
      }
      return Response.json(await dispatch(forwarded));
    },

    attach(given) {
      dispatch = given;
    },
  };
}

function likeEscaped(text: string): string {
  return text.replace(/[\\%_]/g, "\\$&");
}

function checkedEnvelope(value: unknown): ForwardedRequest {
  const envelope = value as Partial<ForwardedRequest> | null;
  if (typeof envelope !== "object" || envelope === null) throw new Error("not an object");
  if (!["GET", "POST", "PUT", "DELETE"].includes(envelope.method as string)) throw new Error("method must be GET, POST, PUT or DELETE");
  if (typeof envelope.path !== "string" || !envelope.path.startsWith("/")) throw new Error("path must start with /");
  if (envelope.role !== "viewer" && envelope.role !== "admin") throw new Error("role must be viewer or admin");
  if (typeof envelope.from !== "string") throw new Error("from must name the forwarding node");
  if (envelope.body !== undefined && (typeof envelope.body !== "object" || envelope.body === null || Array.isArray(envelope.body))) throw new Error("body must be an object");
  return { method: envelope.method!, path: envelope.path, role: envelope.role, from: envelope.from, ...(envelope.body ? { body: envelope.body } : {}) };
}
