/**
 * The inspector of one cluster node shows the whole cluster: two nodes on a real Postgres, each with
 * its own inspector, agents created through both, and everything asked of node a's inspector.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { clusterInspectorView, type ClusterInspectorView } from "../../src/cluster/inspector-view.ts";
import { INSPECTOR_PATH, withInspectorRoute } from "../../src/cluster/internal-routes.ts";
import { Agent, routeAgentRequest } from "../../src/index.ts";
import { startInspector, type InspectorHandle } from "../../src/inspector/index.ts";
import { LogStore } from "../../src/observability/store/log-store.ts";
import { ProblemStore } from "../../src/observability/store/problems.ts";
import { SpanStore } from "../../src/observability/traces/store.ts";
import { WorkflowEntrypoint, type WorkflowEvent, type WorkflowStep } from "../../src/workflow/index.ts";
import { preferredNode } from "../../src/cluster/due/rendezvous.ts";
import { WORKFLOWS_SERVICE, workflowPartitionOf } from "../../src/cluster/workflows.ts";
import { postgresUnavailable, sharedPostgres } from "../support/postgres.ts";
import { startTestNode, type TestNode } from "../cluster/support/test-node.ts";
import { raw, until } from "./fixture.ts";

interface NoteState {
  count: number;
}

class Note extends Agent<unknown, NoteState> {
  override initialState: NoteState = { count: 0 };

  override onStart(): void {
    this.sql`CREATE TABLE IF NOT EXISTS lines (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`;
  }

  override onRequest(request: Request): Response {
    this.sql`INSERT INTO lines (body) VALUES (${new URL(request.url).pathname})`;
    this.setState({ count: this.state.count + 1 });
    return new Response("ok");
  }
}

class Review extends WorkflowEntrypoint<unknown, { doc: string }> {
  async run(event: WorkflowEvent<{ doc: string }>, step: WorkflowStep): Promise<string> {
    return step.do("check", async () => `checked ${event.payload.doc}`);
  }
}

const VIEWER = "viewer-token-for-the-cluster-test";
const ADMIN = "admin-token-for-the-cluster-test";

interface InspectedNode {
  running: TestNode;
  view: ClusterInspectorView;
  inspector: InspectorHandle;
  logs: LogStore;
  spans: SpanStore;
}

async function startInspectedNode(connectionString: string, id: string): Promise<InspectedNode> {
  let view: ClusterInspectorView | undefined;
  const running = await startTestNode(connectionString, id, {
    host: { agents: { Note }, workflows: { Review } },
    serve: (host, node) => {
      view = clusterInspectorView(node, host);
      const worker = node.wrapFetch(async (request, env) => (await routeAgentRequest(request, env)) ?? new Response("Not found", { status: 404 }));
      return { fetch: withInspectorRoute(worker, { key: node.inspectorAccess.key, answer: (request) => view!.answer(request) }) };
    },
  });
  const logs = new LogStore();
  const spans = new SpanStore();
  const inspector = await startInspector({ host: running.host, env: {}, token: VIEWER, adminToken: ADMIN, logStore: logs, spanStore: spans, problemStore: new ProblemStore() });
  view!.attach(inspector.joinCluster(view!));
  return { running, view: view!, inspector, logs, spans };
}

async function stopInspectedNode(node: InspectedNode): Promise<void> {
  await node.inspector.close();
  await node.running.node.drain();
  await node.running.server.close();
  await node.running.host.close();
  await node.running.node.close();
  node.logs.close();
  node.spans.close();
}

describe.skipIf(postgresUnavailable() !== undefined)("the inspector of a cluster node shows the whole cluster", () => {
  const nodes: InspectedNode[] = [];
  const api = (node: InspectedNode, path: string, init: { method?: string; body?: unknown; as?: "viewer" | "admin" } = {}) =>
    raw(new URL(path, node.inspector.url).toString(), { method: init.method ?? "GET", headers: { authorization: `Bearer ${init.as === "admin" ? ADMIN : VIEWER}` }, ...(init.body !== undefined ? { body: init.body } : {}) });

  beforeAll(async () => {
    const connectionString = await (await sharedPostgres()).database("inspector_cluster");
    for (const id of ["a", "b"]) nodes.push(await startInspectedNode(connectionString, id));
    const [a, b] = nodes as [InspectedNode, InspectedNode];
    // Each agent is claimed by the node its first request reaches.
    for (const name of ["on-a-1", "on-a-2"]) expect(await (await fetch(`${a.running.url}/agents/note/${name}`)).text()).toBe("ok");
    for (const name of ["on-b-1", "on-b-2"]) expect(await (await fetch(`${b.running.url}/agents/note/${name}`)).text()).toBe("ok");
    expect(b.running.node.holds("note", "on-b-1")).toBe(true);
  }, 60_000);

  afterAll(async () => {
    for (const node of nodes.splice(0)) await stopInspectedNode(node).catch(() => undefined);
  }, 60_000);

  test("the agent list holds every node's agents, each with its node; paging and filters work", async () => {
    const a = nodes[0]!;
    const all = (await api(a, "/api/agents")).json();
    expect(all.items.map((item: { name: string; node: string }) => `${item.name}@${item.node}`)).toEqual(["on-a-1@a", "on-a-2@a", "on-b-1@b", "on-b-2@b"]);
    expect(all.items.every((item: { live: boolean }) => item.live)).toBe(true);
    expect(all.missingNodes).toEqual([]);
    const first = (await api(a, "/api/agents?limit=3")).json();
    expect(first.items).toHaveLength(3);
    const second = (await api(a, `/api/agents?limit=3&cursor=${first.next}`)).json();
    expect(second.items.map((item: { name: string }) => item.name)).toEqual(["on-b-2"]);
    expect(second.next).toBeNull();
    const found = (await api(a, "/api/agents?class=Note&q=b-")).json();
    expect(found.items.map((item: { name: string }) => item.name)).toEqual(["on-b-1", "on-b-2"]);
    expect((await api(a, "/api/agents?cursor=nonsense")).status).toBe(400);
    expect((await api(a, "/api/session")).json().cluster).toEqual({ node: "a" });
  });

  test("an agent held by another node is read there: summary, state and SQL", async () => {
    const [a, b] = nodes as [InspectedNode, InspectedNode];
    expect((await api(a, "/api/agents/Note/on-b-1")).json()).toMatchObject({ class: "Note", name: "on-b-1", node: "b", features: expect.arrayContaining(["state", "sql"]) });
    expect((await api(a, "/api/agents/Note/on-b-1/state")).json()).toEqual({ state: { count: 1 } });
    const query = (await api(a, "/api/agents/Note/on-b-1/sql/query", { method: "POST", body: { sql: "SELECT body FROM lines" } })).json();
    expect(query.rows).toEqual([["/agents/note/on-b-1"]]);
    expect(b.running.node.holds("note", "on-b-1")).toBe(true);
    expect(a.running.node.holds("note", "on-b-1")).toBe(false);
    expect((await api(a, "/api/agents/Note/nobody/state")).status).toBe(404);
  });

  test("an admin-only change of a remote agent works for an admin, is refused for a viewer, and is audited where it ran (listed by every node)", async () => {
    const [a, b] = nodes as [InspectedNode, InspectedNode];
    const refused = await api(a, "/api/agents/Note/on-b-2/state", { method: "PUT", body: { state: { count: 9 } } });
    expect(refused.status).toBe(403);
    expect(refused.json().error.code).toBe("admin_required");
    const changed = await api(a, "/api/agents/Note/on-b-2/state", { method: "PUT", as: "admin", body: { state: { count: 5 } } });
    expect(changed.json()).toEqual({ state: { count: 5 } });
    expect((await api(b, "/api/agents/Note/on-b-2/state")).json()).toEqual({ state: { count: 5 } });
    const audited = (await api(b, "/api/audit", { as: "admin" })).json().items;
    expect(audited[0]).toMatchObject({ role: "admin", action: "state.set", target: "Note/on-b-2", detail: { ok: true, via: "a" } });
    // Asked on the other node, the audit log gathers every node's, each entry labelled with its node.
    const gathered = (await api(a, "/api/audit", { as: "admin" })).json().items as Array<{ action: string; node: string }>;
    expect(gathered.filter((entry) => entry.action === "state.set")).toEqual([expect.objectContaining({ node: "b", target: "Note/on-b-2" })]);
    // The node that runs a forwarded request checks the role too.
    const forwarded = await a.view.send("b", { method: "PUT", path: "/api/agents/Note/on-b-2/state", role: "viewer", from: "a", body: { state: { count: 7 } } }, 5_000);
    expect(forwarded.status).toBe(403);
    // And the internal route takes nothing without the cluster key.
    expect((await fetch(`${b.running.url}${INSPECTOR_PATH}`, { method: "POST", body: "{}" })).status).toBe(403);
  });

  test("the overview counts the cluster's agents, with a per-node breakdown", async () => {
    const a = nodes[0]!;
    const overview = (await api(a, "/api/overview")).json();
    expect(overview.agents.classes.find((row: { class: string }) => row.class === "Note")).toMatchObject({ total: 4, live: 4, hibernated: 0 });
    expect(overview.cluster.missing).toEqual([]);
    expect(overview.cluster.nodes.map((row: { node: string; agents: { live: number } }) => [row.node, row.agents.live])).toEqual([
      ["a", 2],
      ["b", 2],
    ]);
    const classes = (await api(a, "/api/classes")).json();
    expect(classes.find((row: { class: string }) => row.class === "Note")).toMatchObject({ total: 4, live: 4 });
  });

  test("workflow instances are listed from every node and read on the node holding their partition, from either inspector", async () => {
    const [a, b] = nodes as [InspectedNode, InspectedNode];
    const partitionOf = (id: string) => workflowPartitionOf("Review", id);
    const preferred = (id: string) => preferredNode(`${WORKFLOWS_SERVICE}/${partitionOf(id)}`, ["a", "b"]);
    // Instances on both nodes once the partitions are spread: the first ids preferring a, then b.
    const candidates = Array.from({ length: 40 }, (_, n) => `r${n}`);
    const ids = [...candidates.filter((id) => preferred(id) === "a").slice(0, 2), ...candidates.filter((id) => preferred(id) === "b").slice(0, 2)];
    await until(async () => ids.every((id) => [a, b].find((node) => node.running.id === preferred(id))!.running.node.holds(WORKFLOWS_SERVICE, partitionOf(id))) || undefined, "the partitions spread");
    for (const id of ids) {
      const created = await api(a, "/api/workflows/Review", { method: "POST", as: "admin", body: { id, params: { doc: `plan ${id}` } } });
      expect(created.status).toBe(201);
    }
    for (const node of [a, b]) {
      const done = await until(async () => {
        const list = (await api(node, "/api/workflows?workflow=Review")).json();
        const complete = (list.items ?? []).filter((item: { id: string; status: string }) => ids.includes(item.id) && item.status === "complete");
        return complete.length === ids.length ? complete : undefined;
      }, `every instance complete, seen from node ${node.running.id}`);
      // Each listed by the node that holds it.
      expect(Object.fromEntries(done.map((item: { id: string; node: string }) => [item.id, item.node]))).toEqual(Object.fromEntries(ids.map((id) => [id, preferred(id)])));
    }
    for (const id of ids) expect((await api(b, `/api/workflows/Review/${id}`)).json()).toMatchObject({ status: "complete", output: `checked plan ${id}` });
    expect((await api(a, "/api/workflows/Review/nope")).status).toBe(404);
  });

  test("logs and traces are merged from every node, newest first, each labelled with its node", async () => {
    const [a, b] = nodes as [InspectedNode, InspectedNode];
    a.logs.write(JSON.stringify({ level: 50, time: 1_000, msg: "older, on a" }));
    b.logs.write(JSON.stringify({ level: 50, time: 2_000, msg: "newer, on b" }));
    a.logs.write(JSON.stringify({ level: 50, time: 3_000, msg: "newest, on a" }));
    const logs = (await api(a, "/api/logs?level=error")).json();
    expect(logs.items.map((entry: { msg: string; node: string }) => `${entry.msg}@${entry.node}`)).toEqual(["newest, on a@a", "newer, on b@b", "older, on a@a"]);
    expect(logs.missingNodes).toEqual([]);
    // One at a time, the cursor walks every node's entries in the same order.
    const seen: string[] = [];
    let cursor: string | null = "";
    while (cursor !== null) {
      const page = (await api(a, `/api/logs?level=error&limit=1${cursor ? `&cursor=${cursor}` : ""}`)).json();
      seen.push(...page.items.map((entry: { msg: string }) => entry.msg));
      cursor = page.next;
    }
    expect(seen).toEqual(["newest, on a", "newer, on b", "older, on a"]);
    const traceId = "c".repeat(32);
    b.spans.add({ traceId, spanId: "d".repeat(16), name: "GET /agents/note/on-b-1", kind: "server", startedAt: 5_000, endedAt: 5_010, status: { code: 0 }, attributes: {}, events: [], links: [] });
    b.spans.flush();
    const traces = (await api(a, "/api/traces")).json();
    expect(traces.items.find((item: { traceId: string }) => item.traceId === traceId)).toMatchObject({ node: "b" });
    expect((await api(a, `/api/traces/${traceId}`)).json()).toMatchObject({ traceId, node: "b" });
  });

  test("a node that does not answer is named as missing; once it left, paging goes on without it and its agents are claimed by the node asked", async () => {
    const [a, b] = nodes as [InspectedNode, InspectedNode];
    const firstPage = (await api(a, "/api/logs?level=error&limit=1")).json();
    expect(firstPage.items.map((entry: { msg: string }) => entry.msg)).toEqual(["newest, on a"]);
    await b.running.server.close(); // still a live member for its TTL, but unreachable
    const logs = (await api(a, "/api/logs")).json();
    expect(logs.missingNodes).toEqual(["b"]);
    expect((await api(a, "/api/overview")).json().cluster.missing).toEqual(["b"]);
    const list = (await api(a, "/api/agents")).json();
    expect(list.missingNodes).toEqual(["b"]);
    nodes.splice(1, 1);
    await b.inspector.close();
    await b.running.node.drain(); // gives its leases back
    await b.running.host.close();
    await b.running.node.close();
    b.logs.close();
    b.spans.close();
    // A cursor made while b was a member goes on without it once it left.
    const rest = (await api(a, `/api/logs?level=error&cursor=${firstPage.next}`)).json();
    expect(rest.items.map((entry: { msg: string }) => entry.msg)).toEqual(["older, on a"]);
    expect(rest.missingNodes).toEqual(["b"]);
    expect(rest.next).toBeNull();
    const asleep = (await api(a, "/api/agents?q=on-b")).json();
    expect(asleep.items.map((item: { node: string | null }) => item.node)).toEqual([null, null]);
    expect((await api(a, "/api/agents/Note/on-b-2/state")).json()).toEqual({ state: { count: 5 } });
    expect(a.running.node.holds("note", "on-b-2")).toBe(true);
    expect((await api(a, "/api/agents?q=on-b")).json().items.map((item: { node: string | null }) => item.node)).toEqual([null, "a"]);
  });
});
