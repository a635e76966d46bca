/**
 * Failover time: three node processes (`hearth start --cluster` from the built CLI) on one Postgres
 * (fsync on). Repeatedly: an agent gets a write, its owner is killed with SIGKILL, and a client POSTs
 * to that agent through another node until a write is acknowledged; the time from the kill to that
 * acknowledgement is the failover time. The killed node is then started again with the same id and an
 * empty data directory (its disk is gone too), so every round has three nodes.
 *
 * With the default timings (node lease TTL 3 s, heartbeat every 1 s, reaper every 250 ms) a dead node
 * is declared dead 3–3.25 s after its last heartbeat, which was 0–1 s before the kill: 2–3.25 s after
 * the kill. The claim, the read of the agent's log and the restore of its file follow.
 *
 *   npm run build && npx node bench/cluster-failover.ts [--quick] [--kills 10]
 */
import pg from "pg";
import { emit, flag, hasFlag, log, percentile, removeDir, type Row } from "./lib/common.ts";
import { loadNote, postgresUnavailable, sorted, startBenchPostgres } from "./lib/cluster-common.ts";
import { ACTOR_PREFIX, AGENT_PATH, startClusterNode, type ClusterNodeProcess } from "./lib/cluster-nodes.ts";

const PROBE_TIMEOUT_MS = 2_000;
const GIVE_UP_MS = 30_000;

async function post(node: ClusterNodeProcess, name: string): Promise<boolean> {
  try {
    const response = await fetch(`${node.url}${AGENT_PATH}/${name}`, { method: "POST", signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}

interface Round {
  ms: number;
  victim: string;
  newOwner: string | undefined;
  through: string;
}

/** Runs the figure and prints (or hands to bench/run.ts) its table. */
export async function main(): Promise<Row[]> {
  const quick = hasFlag("quick");
  const kills = Number(flag("kills") ?? (quick ? 3 : 10));
  const unavailable = postgresUnavailable();
  if (unavailable !== undefined) {
    const rows: Row[] = [{ bench: "cluster-failover", metric: "skipped", value: 0, unit: "", note: unavailable }];
    emit(rows);
    return rows;
  }
  const postgres = await startBenchPostgres(true);
  const client = new pg.Client({ connectionString: postgres.url });
  const nodes: ClusterNodeProcess[] = [];
  const rounds: Round[] = [];
  const loads: string[] = [];
  try {
    await client.connect();
    for (const id of ["a", "b", "c"]) nodes.push(await startClusterNode(id, postgres.url));
    const ownerOf = async (name: string): Promise<string | undefined> => {
      const { rows } = await client.query<{ owner: string | null }>("SELECT owner FROM hearth.actor_lease WHERE actor_id = $1", [`${ACTOR_PREFIX}${name}`]);
      return rows[0]?.owner ?? undefined;
    };
    for (let round = 0; round < kills; round++) {
      const name = `failover${round}`;
      const entry = nodes[round % nodes.length]!;
      if (!(await post(entry, name))) throw new Error(`the first write to ${name} through ${entry.id} failed:\n${entry.output()}`);
      const victimId = await ownerOf(name);
      const victim = nodes.find((node) => node.id === victimId);
      if (victim === undefined) throw new Error(`${name} has no live owner after its first write (owner: ${victimId})`);
      const through = nodes.find((node) => node !== victim && node.id !== entry.id) ?? nodes.find((node) => node !== victim)!;
      const killedAt = performance.now();
      await victim.kill();
      let ms: number | undefined;
      while (ms === undefined && performance.now() - killedAt < GIVE_UP_MS) {
        if (await post(through, name)) ms = performance.now() - killedAt;
        else await new Promise((resolve) => setTimeout(resolve, 20));
      }
      if (ms === undefined) throw new Error(`no write to ${name} was acknowledged within ${GIVE_UP_MS} ms of killing ${victim.id}`);
      const newOwner = await ownerOf(name);
      rounds.push({ ms, victim: victim.id, newOwner, through: through.id });
      loads.push(loadNote());
      log(`kill ${round + 1}/${kills}: ${victim.id} killed, ${name} written through ${through.id} after ${ms.toFixed(0)} ms (now owned by ${newOwner}; ${loadNote()})`);
      // The node comes back with the same id and an empty disk.
      removeDir(victim.dataDir);
      nodes.splice(nodes.indexOf(victim), 1, await startClusterNode(victim.id, postgres.url));
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  } finally {
    for (const node of nodes) await node.close().catch(() => undefined);
    await client.end().catch(() => undefined);
    postgres.stop();
  }
  const times = sorted(rounds.map((round) => round.ms));
  const all = rounds.map((round) => round.ms.toFixed(0)).join(", ");
  const note = `${rounds.length} SIGKILLs of the owner, 3 nodes, no other load; each (ms): ${all}; ${loads[0]} at the first, ${loads.at(-1)} at the last`;
  const rows: Row[] = [
    { bench: "cluster-failover", metric: "SIGKILL of the owner → first acknowledged write through another node: p50", value: percentile(times, 50), unit: "ms", goal: { op: "<=", value: 5_000 }, note },
    { bench: "cluster-failover", metric: "the same: p90", value: percentile(times, 90), unit: "ms", goal: { op: "<=", value: 5_000 }, note: "the limit: node lease TTL 3 s counted from the last heartbeat (0–1 s before the kill) + reaper ≤ 0.25 s, so 2–3.25 s; then claim + readHistory + restore" },
    { bench: "cluster-failover", metric: "the same: min / max", value: times[0] ?? Number.NaN, unit: "ms", note: `max ${times.at(-1)?.toFixed(0)} ms` },
  ];
  emit(rows);
  return rows;
}

if (import.meta.main) await main();
