/**
 * Benchmark 4: WebSocket RPC round trips. The server runs here; clients (`ws`) run in a child process.
 *  - one agent, a few sockets, many calls in flight on each (pipelined): `ping` (no storage) and
 *    `increment` (setState + INSERT; each call also broadcasts a cf_agent_state frame to every socket);
 *  - 1,000 agents, one socket each, one call in flight per socket. This phase keeps its data dir on
 *    tmpfs: opening its sockets creates 1,000 agents, which on this disk alone takes 5-10 s (agent
 *    creation is benchmark 2); ping() itself does not touch storage.
 */
import { Host, serve } from "../dist/index.js";
import { Counter } from "./lib/agents.ts";
import { SHM_DIR, emit, log, runChild, shmAvailable, withDataDir, type Goal, type Row } from "./lib/common.ts";
import type { WsLoadInput, WsLoadResult } from "./lib/ws-load.ts";

type Phase = Pick<WsLoadInput, "names" | "sockets" | "inflight" | "method" | "args" | "warmup" | "duration"> & {
  metric: string;
  /** Data dir on tmpfs instead of disk. */
  tmpfs?: boolean;
  goal?: Goal;
};

const MANY = 1_000;

const PHASES: Phase[] = [
  {
    metric: "RPC round trips, one agent, ping()",
    goal: { op: ">=", value: 20_000 },
    names: ["hot"],
    sockets: 4,
    inflight: 64,
    method: "ping",
    args: [],
    warmup: 1,
    duration: 3,
  },
  {
    metric: "RPC round trips, one agent, increment(1) (setState + INSERT)",
    names: ["hot"],
    sockets: 1,
    inflight: 256,
    method: "increment",
    args: [1],
    warmup: 1,
    duration: 3,
  },
  {
    metric: `RPC round trips, ${MANY.toLocaleString("en-US")} agents, one socket each, ping()`,
    tmpfs: true,
    names: Array.from({ length: MANY }, (_, i) => `agent-${i}`),
    sockets: MANY,
    inflight: 1,
    method: "ping",
    args: [],
    warmup: 1,
    duration: 3,
  },
];

async function measure(phase: Phase): Promise<Row> {
  const base = phase.tmpfs && shmAvailable() ? SHM_DIR : undefined;
  return withDataDir("ws-rpc", base, async (dataDir) => {
    const host = new Host({ dataDir, agents: { Counter } });
    const server = await serve({ host, port: 0 });
    try {
      const result = await runChild<WsLoadResult>(
        "ws-load.ts",
        {
          baseUrl: `${server.url.replace(/^http/, "ws")}/agents/counter/`,
          names: phase.names,
          sockets: phase.sockets,
          inflight: phase.inflight,
          method: phase.method,
          args: phase.args,
          warmup: phase.warmup,
          duration: phase.duration,
          connectConcurrency: 50,
        } satisfies WsLoadInput,
        60_000,
      );
      log(
        `${phase.metric}: ${result.calls} calls in ${result.duration.toFixed(2)}s, errors ${result.errors}, ` +
          `connect ${result.connectSeconds.toFixed(2)}s, other frames ${result.otherFrames}, live agents ${host.stats.liveAgents}`,
      );
      const setup =
        phase.sockets === 1
          ? `1 socket × ${phase.inflight} in flight`
          : phase.inflight === 1
            ? `${phase.sockets} sockets × 1 in flight (opened in ${result.connectSeconds.toFixed(1)} s, creating the agents)`
            : `${phase.sockets} sockets × ${phase.inflight} in flight`;
      const where = base ? "data dir on tmpfs" : "data dir on disk";
      return {
        bench: "4 ws-rpc",
        metric: phase.metric,
        value: result.rate,
        unit: "calls/s",
        goal: phase.goal,
        note: `${setup}, ${phase.duration}s, ${where}; latency p50 ${result.latencyP50.toFixed(2)} ms / p99 ${result.latencyP99.toFixed(2)} ms; ${result.errors} errors`,
      };
    } finally {
      await server.close();
      await host.close();
    }
  });
}

const rows: Row[] = [];
for (const phase of PHASES) rows.push(await measure(phase));
emit(rows);
