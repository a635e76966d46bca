/**
 * The first request to an agent after its node gave its lease back (idle, decision 0030): claimed
 * again by the node that gave it back — whose file still holds the log's state when nobody wrote
 * since, and serves as it is — against the same claim on another node, which reads the history from
 * Postgres and rebuilds the file. Two nodes in this process (ClusterNode, Host, serve, as
 * `hearth start --cluster` wires them) on one Postgres; an agent with S MB of rows and a few small
 * commits after them, given back by `releaseIdleAgents()`, then one POST timed (lookup, claim, file,
 * wake, setState + INSERT, commit in Postgres).
 *
 *   npm run build && npx node bench/cluster-reclaim.ts [--quick] [--runs 5] [--sizes 0,1,16]
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ClusterNode } from "../dist/cluster/node.js";
import { Agent, Host, routeAgentRequest, serve } from "../dist/index.js";
import { whenFilesSettled } from "../dist/storage/settle.js";
import { emit, flag, hasFlag, log, removeDir, type Row } from "./lib/common.ts";
import { loadNote, postgresUnavailable, sorted, startBenchPostgres } from "./lib/cluster-common.ts";
import { freePort } from "./lib/do-server.ts";

const BLOB = 64 * 1024;

/** A counter (POST: setState + INSERT) that can be filled with `?fill=<MB>` of 64 KiB rows. */
class Reclaimed extends Agent<unknown, { count: number }> {
  override initialState = { count: 0 };

  override onStart(): void {
    this.sql`CREATE TABLE IF NOT EXISTS hits (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)`;
    this.sql`CREATE TABLE IF NOT EXISTS blobs (id INTEGER PRIMARY KEY, data BLOB NOT NULL)`;
  }

  override onRequest(request: Request): Response {
    const fill = Number(new URL(request.url).searchParams.get("fill") ?? 0);
    for (let i = 0; i < (fill * 1024 * 1024) / BLOB; i++) this.sql`INSERT INTO blobs (data) VALUES (${new Uint8Array(BLOB).fill(i % 251)})`;
    const count = this.state.count + 1;
    this.setState({ count });
    this.sql`INSERT INTO hits (n) VALUES (${count})`;
    return Response.json({ count });
  }
}

interface BenchNode {
  url: string;
  node: ClusterNode;
  host: Host;
  close(): Promise<void>;
}

async function startNode(connectionString: string, id: string): Promise<BenchNode> {
  const dir = mkdtempSync(join(tmpdir(), `hearth-bench-reclaim-${id}-`));
  const port = await freePort();
  const node = await ClusterNode.start({ connectionString, nodeId: id, advertise: `http://127.0.0.1:${port}`, releaseIdleAfterMs: 0 }, dir);
  const ref: { host?: Host } = {};
  const host = new Host({ agents: { Reclaimed }, dataDir: dir, ...node.hostOptions(() => ref.host!) });
  ref.host = host;
  const server = await serve({ host, port, fetch: node.wrapFetch(async (request, env) => (await routeAgentRequest(request, env)) ?? new Response("Not found", { status: 404 })) });
  return {
    url: server.url,
    node,
    host,
    async close() {
      await node.drain();
      await server.close();
      await host.close();
      await node.close();
      await whenFilesSettled();
      removeDir(dir);
    },
  };
}

async function post(node: BenchNode, name: string, query = ""): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${node.url}/agents/reclaimed/${name}${query}`, { method: "POST" });
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`POST ${name} answered ${response.status}`);
  return performance.now() - started;
}

/** Out of memory, then two looks: the lease given back (the first ends the period it was used in). */
async function giveBack(node: BenchNode): Promise<void> {
  node.host.hibernateIdleAgents();
  await node.node.releaseIdleAgents();
  await node.node.releaseIdleAgents();
  if (node.node.heldAgents !== 0) throw new Error(`${node.node.heldAgents} agent(s) still held after two looks`);
}

/** Runs the figure and prints (or hands to bench/run.ts) its table. */
export async function main(): Promise<Row[]> {
  const quick = hasFlag("quick");
  const runs = Number(flag("runs") ?? (quick ? 2 : 5));
  const sizes = (flag("sizes") ?? (quick ? "0,1" : "0,1,16")).split(",").map(Number);
  const unavailable = postgresUnavailable();
  if (unavailable !== undefined) {
    const rows: Row[] = [{ bench: "cluster-reclaim", metric: "skipped", value: 0, unit: "", note: unavailable }];
    emit(rows);
    return rows;
  }
  const postgres = await startBenchPostgres(true, "reclaim");
  const rows: Row[] = [];
  try {
    const a = await startNode(postgres.url, "a");
    const b = await startNode(postgres.url, "b");
    try {
      for (const mb of sizes) {
        const same: number[] = [];
        const other: number[] = [];
        for (let run = 0; run < runs; run++) {
          const name = `s${mb}-r${run}`;
          await post(a, name, `?fill=${mb}`);
          for (let i = 0; i < 5; i++) await post(a, name); // a few changesets after the first snapshot
          // Alternating which comes first: a, where nothing was appended since it gave the agent back,
          // then b, which rebuilds; the next run starts on a again.
          await giveBack(a);
          same.push(await post(a, name));
          await giveBack(a);
          other.push(await post(b, name));
          await giveBack(b);
        }
        const median = (values: number[]) => sorted(values)[values.length >> 1]!;
        const note = `median of ${runs}; all: ${sorted(same).map((ms) => ms.toFixed(1)).join(", ")} / ${sorted(other).map((ms) => ms.toFixed(1)).join(", ")} ms; ${loadNote()}`;
        log(`${mb} MB: the node that gave it back ${median(same).toFixed(1)} ms, another node ${median(other).toFixed(1)} ms`);
        rows.push({ bench: "cluster-reclaim", metric: `first POST after a give-back, ${mb} MB of rows: on the node that gave it back (its file as it is)`, value: Number(median(same).toFixed(1)), unit: "ms", note });
        rows.push({ bench: "cluster-reclaim", metric: `the same on another node (history read, file rebuilt)`, value: Number(median(other).toFixed(1)), unit: "ms", note });
      }
    } finally {
      await b.close();
      await a.close();
    }
  } finally {
    postgres.stop();
  }
  emit(rows);
  return rows;
}

if (import.meta.main) await main();
