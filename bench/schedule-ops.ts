/**
 * Benchmark 8: schedule / cancel throughput on one agent, durability relaxed (the default).
 *  - inside one event: a method does N `await this.schedule(3600, "noop", i)` calls, another cancels
 *    them all with `cancelSchedule(id)`; timed inside the agent, and from outside the call including
 *    the end-of-turn commit;
 *  - one RPC per operation: `await stub.scheduleOne(i)` / `await stub.cancelOne(id)` from the same
 *    process, yielding a turn after each (as a server does), so each one commits on its own.
 * Every round checks the agent holds exactly the schedules it should. Disk and tmpfs. `--n N`.
 */
import { Host, getAgentByName, type AgentNamespace, type AgentStub } from "../dist/index.js";
import { SHM_DIR, emit, flag, log, nextTurn, shmAvailable, withDataDir, type Row } from "./lib/common.ts";
import { Planner } from "./lib/time-agents.ts";

const N = Number(flag("n") ?? 10_000);
const ROUNDS = 5;
const N_RPC = Math.min(N, 5_000);

interface Figures {
  /** Operations per second for each round, measured inside the agent. */
  scheduleInside: number[];
  cancelInside: number[];
  /** The same, measured around the call, the commit included. */
  scheduleCall: number[];
  cancelCall: number[];
  scheduleRpc: number;
  cancelRpc: number;
}

async function expectPending(stub: AgentStub<Planner>, expected: number): Promise<void> {
  const pending = await stub.pending();
  if (pending !== expected) throw new Error(`the agent holds ${pending} schedules, expected ${expected}`);
}

/** Runs `fn` and returns its duration in ms, including one turn of the event loop (the commit). */
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  await nextTurn();
  return performance.now() - start;
}

async function measure(base: string | undefined, label: string): Promise<Figures> {
  return withDataDir(`schedule-ops-${label}`, base, async (dataDir) => {
    const host = new Host({ dataDir, agents: { Planner }, hibernateAfterMs: 3_600_000 });
    try {
      const stub = await getAgentByName(host.env.Planner as AgentNamespace<Planner>, "planner");
      await stub.scheduleMany(1_000); // warm-up: tables, statement cache, JIT
      await stub.cancelAll();
      const figures: Figures = { scheduleInside: [], cancelInside: [], scheduleCall: [], cancelCall: [], scheduleRpc: 0, cancelRpc: 0 };
      for (let round = 0; round < ROUNDS; round++) {
        let inside = 0;
        figures.scheduleCall.push((N * 1000) / (await timed(async () => (inside = await stub.scheduleMany(N)))));
        figures.scheduleInside.push((N * 1000) / inside);
        await expectPending(stub, N);
        figures.cancelCall.push((N * 1000) / (await timed(async () => (inside = await stub.cancelAll()))));
        figures.cancelInside.push((N * 1000) / inside);
        await expectPending(stub, 0);
      }
      const ids: string[] = [];
      const scheduleMs = await timed(async () => {
        for (let i = 0; i < N_RPC; i++) {
          ids.push(await stub.scheduleOne(i));
          await nextTurn();
        }
      });
      await expectPending(stub, N_RPC);
      const cancelMs = await timed(async () => {
        for (const id of ids) {
          if (!(await stub.cancelOne(id))) throw new Error(`schedule ${id} was not there to cancel`);
          await nextTurn();
        }
      });
      await expectPending(stub, 0);
      figures.scheduleRpc = (N_RPC * 1000) / scheduleMs;
      figures.cancelRpc = (N_RPC * 1000) / cancelMs;
      return figures;
    } finally {
      await host.close();
    }
  });
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const range = (values: number[]) =>
  `${Math.round(Math.min(...values)).toLocaleString("en-US")}–${Math.round(Math.max(...values)).toLocaleString("en-US")}`;
const us = (perSecond: number) => `${(1e6 / perSecond).toFixed(1)} µs each`;

function rows(f: Figures, where: string): Row[] {
  const bench = "8 schedule-ops";
  const loop = `${N.toLocaleString("en-US")} in one event, median of ${ROUNDS} rounds`;
  log(`${where}: schedule ${Math.round(median(f.scheduleInside))}/s, cancel ${Math.round(median(f.cancelInside))}/s inside; RPC ${Math.round(f.scheduleRpc)}/s, ${Math.round(f.cancelRpc)}/s`);
  return [
    {
      bench,
      metric: `schedule(3600, "noop", i) in a loop inside one agent, ${where}`,
      value: median(f.scheduleInside),
      unit: "schedules/s",
      note: `${loop} (${range(f.scheduleInside)}); ${us(median(f.scheduleInside))}; with the call and its commit ${Math.round(median(f.scheduleCall)).toLocaleString("en-US")}/s`,
    },
    {
      bench,
      metric: `cancelSchedule(id) of all of them, ${where}`,
      value: median(f.cancelInside),
      unit: "cancels/s",
      note: `${loop} (${range(f.cancelInside)}); ${us(median(f.cancelInside))}; with the call and its commit ${Math.round(median(f.cancelCall)).toLocaleString("en-US")}/s`,
    },
    {
      bench,
      metric: `one in-process RPC per schedule (stub.scheduleOne), ${where}`,
      value: f.scheduleRpc,
      unit: "schedules/s",
      note: `${N_RPC.toLocaleString("en-US")} calls one after another, a turn (and a commit) each; ${us(f.scheduleRpc)}`,
    },
    {
      bench,
      metric: `one in-process RPC per cancel (stub.cancelOne), ${where}`,
      value: f.cancelRpc,
      unit: "cancels/s",
      note: `${N_RPC.toLocaleString("en-US")} calls one after another, a turn (and a commit) each; ${us(f.cancelRpc)}`,
    },
  ];
}

const out: Row[] = [];
out.push(...rows(await measure(undefined, "disk"), "disk (os.tmpdir)"));
if (shmAvailable()) out.push(...rows(await measure(SHM_DIR, "shm"), "tmpfs (/dev/shm)"));
emit(out);
