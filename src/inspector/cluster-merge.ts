/**
 * Traces and logs of a whole cluster: each live node keeps its own, so a page is every node's page
 * merged newest first, each item labelled with its `node`. The cursor carries each node's own cursor
 * and how many items of that node's page were shown already; a node that did not answer within
 * 2 s is left out of the page (named in `missingNodes`) and asked again for the next one.
 */
import type { InspectorCluster } from "./cluster.ts";
import { CLUSTER_FAN_OUT_TIMEOUT_MS } from "./cluster.ts";
import { ApiError, badRequest, notFound, pageLimit, type Reply } from "./http.ts";
import type { RouteContext } from "./router.ts";

interface Page {
  items: Array<Record<string, unknown>>;
  next: string | null;
}

/** Where each node is in the merged list: its own cursor (null: its first page) and how many of that page were shown. */
type Positions = Record<string, [string | null, number]>;

/**
 * One merged page of `path` (`/api/traces`, `/api/logs`, `/api/team-runs`), newest first by `timeField`.
 * `local` answers this node's own page for a query; `keyOf`, when given, shows an item found on two
 * nodes once per page.
 * @example
 * const page = await mergedPage(ctx, cluster, "/api/logs", "time", (query) => localLogs(query));
 */
export async function mergedPage(
  ctx: RouteContext,
  cluster: InspectorCluster,
  path: string,
  timeField: string,
  local: (query: URLSearchParams) => Promise<Reply>,
  keyOf?: (item: Record<string, unknown>) => string,
): Promise<Page & { missingNodes: string[] }> {
  const limit = pageLimit(ctx.query);
  const given = ctx.query.get("cursor");
  const live = new Set((await cluster.nodes()).map((node) => node.nodeId));
  const missingNodes: string[] = [];
  // A node that left (or died) since the last page is out of the list from now on.
  const positions: Positions = given ? decodePositions(given) : Object.fromEntries([...live].map((node) => [node, [null, 0]]));
  for (const node of Object.keys(positions)) {
    if (live.has(node)) continue;
    delete positions[node];
    missingNodes.push(node);
  }
  const pages = new Map<string, Page>();
  await Promise.all(
    Object.entries(positions).map(async ([node, [cursor]]) => {
      const query = new URLSearchParams(ctx.query);
      query.delete("cursor");
      if (cursor !== null) query.set("cursor", cursor);
      query.set("limit", String(limit));
      try {
        pages.set(node, node === cluster.nodeId ? pageOf(await local(query)) : await remotePage(ctx, cluster, node, `${path}?${query}`));
      } catch (error) {
        if (node === cluster.nodeId) throw error; // this node's own refusal (a bad filter) is the answer
        missingNodes.push(node);
      }
    }),
  );
  // Each node's items not shown yet, newest first as the node gave them.
  const heads = new Map<string, { items: Page["items"]; taken: number; more: boolean }>();
  for (const [node, page] of pages) heads.set(node, { items: page.items.slice(positions[node]![1]), taken: 0, more: page.next !== null });
  const timeOf = (item: Record<string, unknown>): number => Number(item[timeField] ?? 0);
  const items: Page["items"] = [];
  const seen = new Set<string>();
  while (items.length < limit) {
    // A node with more to give but nothing in hand could hold the next item: stop the page here.
    if ([...heads.values()].some((head) => head.taken === head.items.length && head.more)) break;
    let newest: string | undefined;
    for (const [node, head] of heads) {
      if (head.taken === head.items.length) continue;
      if (newest === undefined || timeOf(head.items[head.taken]!) > timeOf(heads.get(newest)!.items[heads.get(newest)!.taken]!)) newest = node;
    }
    if (newest === undefined) break;
    const head = heads.get(newest)!;
    const item = head.items[head.taken++]!;
    // The same item from two nodes (`keyOf`): shown once in a page.
    const key = keyOf?.(item);
    if (key !== undefined && seen.has(key)) continue;
    if (key !== undefined) seen.add(key);
    items.push({ ...item, node: newest });
  }
  const next: Positions = {};
  for (const [node, position] of Object.entries(positions)) {
    const page = pages.get(node);
    const head = heads.get(node);
    if (page === undefined || head === undefined) {
      next[node] = position; // did not answer: asked again next time
      continue;
    }
    const shown = position[1] + head.taken;
    if (shown < page.items.length) next[node] = [position[0], shown];
    else if (page.next !== null) next[node] = [page.next, 0];
  }
  return { items, next: Object.keys(next).length > 0 ? encodePositions(next) : null, missingNodes: missingNodes.sort() };
}

/** One trace from whichever node keeps it (this one first), labelled with that node. */
export async function clusterTrace(ctx: RouteContext, cluster: InspectorCluster, local: () => Promise<Reply>): Promise<Reply> {
  try {
    const reply = await local();
    return { ...reply, json: { ...(reply.json as Record<string, unknown>), node: cluster.nodeId } };
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404 || error.code !== "not_found") throw error;
  }
  const others = (await cluster.nodes()).filter((node) => node.nodeId !== cluster.nodeId);
  const found = await Promise.all(
    others.map(async ({ nodeId }) => {
      try {
        const answer = await cluster.send(nodeId, { method: "GET", path: ctx.request.url ?? "/", role: ctx.role, from: cluster.nodeId }, CLUSTER_FAN_OUT_TIMEOUT_MS);
        return answer.status === 200 ? { ...(JSON.parse(answer.body) as Record<string, unknown>), node: nodeId } : undefined;
      } catch {
        return undefined;
      }
    }),
  );
  const trace = found.find((one) => one !== undefined);
  if (!trace) throw notFound(`No trace ${JSON.stringify(ctx.params.traceId)} is kept by any live node (it may have aged out)`);
  return { json: trace };
}

function pageOf(reply: Reply): Page {
  const json = reply.json as Partial<Page> | undefined;
  return { items: Array.isArray(json?.items) ? json.items : [], next: typeof json?.next === "string" ? json.next : null };
}

async function remotePage(ctx: RouteContext, cluster: InspectorCluster, node: string, path: string): Promise<Page> {
  const answer = await cluster.send(node, { method: "GET", path, role: ctx.role, from: cluster.nodeId }, CLUSTER_FAN_OUT_TIMEOUT_MS);
  if (answer.status !== 200) throw new Error(`node ${node} answered ${answer.status}`);
  return pageOf({ json: JSON.parse(answer.body) as unknown });
}

function encodePositions(positions: Positions): string {
  return Buffer.from(JSON.stringify(positions)).toString("base64url");
}

function decodePositions(cursor: string): Positions {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString());
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.every(([, position]) => Array.isArray(position) && position.length === 2 && (position[0] === null || typeof position[0] === "string") && Number.isInteger(position[1]) && (position[1] as number) >= 0)) {
        return Object.fromEntries(entries) as Positions;
      }
    }
  } catch {
    // reported below
  }
  throw badRequest(`Invalid cursor ${JSON.stringify(cursor.slice(0, 40))}: pass the "next" of a previous page`);
}
