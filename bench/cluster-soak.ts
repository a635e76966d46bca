/**
 * A longer run of the cluster's fault scenarios (test/cluster/faults-ops.test.ts keeps CI short):
 * three node processes (`hearth start --cluster` from the built CLI) on one durable Postgres, four
 * clients appending to and reading list agents through a balancer (refused and 503 attempts go to the
 * next node) the whole time, and `--rounds` rounds of: a rolling restart (SIGTERM each node, start it
 * again), a SIGKILL of an agent's owner (started again), and Postgres crashed (`pg_ctl -m immediate`).
 * Prints, per round and in total, the list-append checker's counts (nothing acknowledged lost or
 * doubled), client-visible errors and failover times.
 *
 *   npm run build && npx tsx bench/cluster-soak.ts [--rounds 5]
 * (tsx, not `npx node`: the checker it shares with the tests uses TypeScript that Node cannot strip)
 */
import { join } from "node:path";
import pg from "pg";
import { cleanEnv, cleanup, freePort, requireBuild, runCli, tempDir, type CliProcess } from "../test/cli/helpers.ts";
import { balanced, listOf, type NodeAddress } from "../test/cluster/fixtures/cluster-client.ts";
import { formatReport } from "../test/cluster/support/checker.ts";
import { createHistoryRecorder } from "../test/cluster/support/recorder.ts";
import { postgresUnavailable, startPostgres } from "../test/support/postgres.ts";
import { flag, log } from "./lib/common.ts";

const APP = join(import.meta.dirname, "..", "test", "cluster", "fixtures", "list-app.ts");
const AGENTS = Array.from({ length: 8 }, (_, i) => `soak${i}`);
const RETRY_MS = 10_000;

interface Node extends NodeAddress {
  port: number;
  dir: string;
  cli: CliProcess;
}

const unavailable = postgresUnavailable();
if (unavailable !== undefined) {
  log(`cluster-soak: skipped (${unavailable})`);
  process.exit(0);
}
requireBuild();
const rounds = Number(flag("rounds") ?? 5);
const server = await startPostgres({ durable: true });
const connectionString = await server.database("soak");
/** The owner of an agent's lease, on a connection of its own (Postgres restarts between calls). */
async function ownerOf(name: string): Promise<string | undefined> {
  const db = new pg.Client({ connectionString });
  db.on("error", () => undefined);
  try {
    await db.connect();
    const { rows } = await db.query<{ owner: string | null }>("SELECT owner FROM hearth.actor_lease WHERE actor_id = $1", [`list-agent/${name}`]);
    return rows[0]?.owner ?? undefined;
  } finally {
    await db.end().catch(() => undefined);
  }
}
const nodes: Node[] = [];

async function launch(id: string, port: number, dir: string): Promise<Node> {
  const url = `http://127.0.0.1:${port}`;
  const cli = runCli(["start", APP, "--port", String(port), "--data", dir, "--cluster", connectionString, "--node-id", id, "--advertise", url, "--no-traces", "--no-metrics", "--log-level", "warn"], { env: cleanEnv() });
  await cli.ready();
  return { id, url, port, dir, cli };
}

for (const id of ["a", "b", "c"]) nodes.push(await launch(id, await freePort(), await tempDir(`hearth-soak-${id}-`)));

const recorder = createHistoryRecorder();
const errors: string[] = [];
let running = true;
const clients = Array.from({ length: 4 }, async (_, client) => {
  for (let i = 0; running; i++) {
    const name = AGENTS[(client + i) % AGENTS.length]!;
    const value = `${client}-${i}`;
    const get = (node: NodeAddress): Promise<Response> => fetch(`${node.url}/agents/list-agent/${name}`, { signal: AbortSignal.timeout(RETRY_MS) });
    const post = (node: NodeAddress): Promise<Response> => fetch(`${node.url}/agents/list-agent/${name}?value=${value}`, { method: "POST", signal: AbortSignal.timeout(RETRY_MS) });
    const outcome = i % 4 === 3 ? await recorder.read(name, async () => listOf(await balanced(() => nodes, get, RETRY_MS, client + i))) : await recorder.append(name, value, async () => listOf(await balanced(() => nodes, post, RETRY_MS, client + i)));
    if (outcome.outcome !== "ok") errors.push(`${name}: ${(outcome.error as Error).message}`);
  }
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const failovers: number[] = [];
for (let round = 1; round <= rounds; round++) {
  const before = errors.length;
  for (let index = 0; index < nodes.length; index++) {
    const node = nodes[index]!;
    node.cli.proc.kill("SIGTERM");
    await node.cli.exited(20_000);
    nodes[index] = await launch(node.id, node.port, node.dir);
    await sleep(500);
  }
  const owner = await ownerOf(AGENTS[0]!);
  const victim = nodes.findIndex((node) => node.id === owner);
  if (victim >= 0) {
    const node = nodes[victim]!;
    const killedAt = performance.now();
    node.cli.proc.kill("SIGKILL");
    await node.cli.exited();
    const survivor = nodes.find((other) => other !== node)!;
    for (let i = 0; performance.now() - killedAt < 20_000; i++) {
      const probe = await recorder.append(AGENTS[0]!, `probe-${round}-${i}`, async () => listOf(await fetch(`${survivor.url}/agents/list-agent/${AGENTS[0]}?value=probe-${round}-${i}`, { method: "POST", signal: AbortSignal.timeout(2_000) })));
      if (probe.outcome === "ok") break;
      await sleep(50);
    }
    failovers.push(performance.now() - killedAt);
    nodes[victim] = await launch(node.id, node.port, node.dir);
  }
  server.restart("immediate");
  await sleep(2_000);
  log(`round ${round}: client-visible errors ${errors.length - before}; SIGKILL failover ${failovers.at(-1)?.toFixed(0) ?? "-"} ms; ops so far ${recorder.history.length}`);
}
running = false;
await Promise.all(clients);
const finals: Record<string, string[]> = {};
for (const name of AGENTS) finals[name] = await listOf(await balanced(() => nodes, (node) => fetch(`${node.url}/agents/list-agent/${name}`), 30_000));
const report = recorder.check(finals);
log(`cluster-soak: ${rounds} rounds; client-visible errors ${errors.length}; SIGKILL failover ms ${failovers.map((ms) => ms.toFixed(0)).join(", ")}`);
log(formatReport(report));
for (const error of errors.slice(0, 10)) log(`  ${error}`);
await cleanup();
server.stop();
process.exit(report.valid ? 0 : 1);
