/**
 * Benchmark 5a: resident memory per idle in-memory agent and per hibernated agent. Runs in its own
 * process so nothing else is on the heap, with `--expose-gc` and V8's young generation pinned
 * (`--min-semi-space-size=16 --max-semi-space-size=16`, as bench/run.ts passes them): left alone, V8
 * grows the young generation from 1 MB to ~96 MB under allocation-heavy load, a one-off growth that
 * would otherwise be charged to the agents created meanwhile.
 *
 *  1. warm up (create and hibernate a few hundred agents), full GC, baseline;
 *  2. create N agents, each with a small state, kept live (hibernateAfterMs 1 h), their idle SQLite
 *     connections parked as they go (closed, reopened by the next statement): Δ RSS / N, and what a
 *     call to a parked agent costs; hibernate them;
 *  2b. N more, every connection left open (the sweep is off in this process): Δ RSS / N;
 *  3. hibernate them all, GC (this plateau keeps whatever the allocator did not give back to the OS);
 *     then create N more, hibernating them 50 at a time: Δ RSS / N is what a hibernated agent costs;
 *  4. in a child process, the same figure for bare node:sqlite connections, to show SQLite's share.
 *
 * The data dir is on tmpfs when available, only to keep the run short (creating a file costs
 * ~5 ms on this disk). SQLite here does not mmap files (mmap_size 0), so file pages are not in RSS.
 */
import { readdirSync } from "node:fs";
import { Host, getAgentByName, type AgentNamespace } from "../dist/index.js";
import { Sleeper } from "./lib/agents.ts";
import { parkIdleConnections, setConnectionParking } from "../dist/storage/parking.js";
import { SHM_DIR, emit, flag, log, msSince, nextTurn, percentile, runChild, shmAvailable, withDataDir, type Row } from "./lib/common.ts";
import type { SqliteMemoryInput, SqliteMemoryResult } from "./lib/sqlite-memory.ts";

const N = Number(flag("agents") ?? 5_000);
const WARMUP = 300;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error(
    "memory.ts needs --expose-gc: node --expose-gc --min-semi-space-size=16 --max-semi-space-size=16 bench/memory.ts (bench/run.ts passes these)",
  );
  process.exit(2);
}

interface Snapshot {
  rss: number;
  heapUsed: number;
  external: number;
  fds: number;
}

async function snapshot(): Promise<Snapshot> {
  for (let i = 0; i < 3; i++) {
    gc!();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const usage = process.memoryUsage();
  return { rss: usage.rss, heapUsed: usage.heapUsed, external: usage.external, fds: readdirSync("/proc/self/fd").length };
}

const kb = (bytes: number) => bytes / 1024;
const base = shmAvailable() ? SHM_DIR : undefined;
const where = base ? "tmpfs (/dev/shm)" : "disk (os.tmpdir)";

// Connections stay open while the agents are made: the first figure is what they cost open.
setConnectionParking(0);

const rows: Row[] = await withDataDir("memory", base, async (dataDir) => {
  const host = new Host({ dataDir, agents: { Sleeper }, hibernateAfterMs: 3_600_000, maxLiveAgents: 1_000_000 });
  const ns = host.env.Sleeper as AgentNamespace<Sleeper>;
  const create = async (prefix: string, count: number) => {
    for (let i = 0; i < count; i++) {
      await (await getAgentByName(ns, `${prefix}-${i}`)).setup(i);
      await nextTurn();
    }
  };
  try {
    await create("warm", WARMUP);
    host.hibernateIdleAgents();
    const before = await snapshot();

    // N live agents, their connections parked as they go idle (what the sweep does after 1–2 s):
    // Δ RSS is what a live agent with a parked connection keeps. First, while the allocator holds
    // no freed memory that would hide the growth.
    for (let i = 0; i < N; i++) {
      await (await getAgentByName(ns, `parked-${i}`)).setup(i);
      await nextTurn();
      if (i % 50 === 49) {
        parkIdleConnections();
        parkIdleConnections();
      }
    }
    parkIdleConnections();
    parkIdleConnections();
    const parked = await snapshot();
    if (host.stats.liveAgents !== N) throw new Error(`expected ${N} live agents, got ${host.stats.liveAgents}`);
    // A call that writes to an agent whose connection is parked reopens it; the same call again finds it open.
    const toParked: number[] = [];
    const toOpen: number[] = [];
    for (let i = 0; i < Math.min(N, 1_000); i++) {
      const stub = await getAgentByName(ns, `parked-${i}`);
      let start = process.hrtime.bigint();
      await stub.setup(i + 1);
      toParked.push(msSince(start));
      start = process.hrtime.bigint();
      await stub.setup(i + 2);
      toOpen.push(msSince(start));
      await nextTurn();
    }
    toParked.sort((a, b) => a - b);
    toOpen.sort((a, b) => a - b);
    host.hibernateIdleAgents();
    const afterParked = await snapshot();

    let start = performance.now();
    await create("live", N);
    const createSeconds = (performance.now() - start) / 1000;
    if (host.stats.liveAgents !== N) throw new Error(`expected ${N} live agents, got ${host.stats.liveAgents}`);
    const live = await snapshot();

    start = performance.now();
    host.hibernateIdleAgents();
    const hibernateMs = (performance.now() - start) / N;
    const hibernated1 = await snapshot();


    // N more agents, each hibernated soon after its creation (never more than 50 live): the growth
    // from here on is what hibernated agents keep, not the allocator's high-water mark.
    for (let i = 0; i < N; i++) {
      await (await getAgentByName(ns, `more-${i}`)).setup(i);
      await nextTurn();
      if (i % 50 === 49) host.hibernateIdleAgents();
    }
    host.hibernateIdleAgents();
    const hibernated2 = await snapshot();
    if (host.stats.liveAgents !== 0) throw new Error(`expected 0 live agents, got ${host.stats.liveAgents}`);
    const rawInput = (mode: SqliteMemoryInput["mode"]) => ({ dir: base, connections: 2_000, mode }) satisfies SqliteMemoryInput;
    const rawOpen = await runChild<SqliteMemoryResult>("sqlite-memory.ts", rawInput("open"), 60_000);
    const rawUsed = await runChild<SqliteMemoryResult>("sqlite-memory.ts", rawInput("used"), 60_000);
    const rawShrunk = await runChild<SqliteMemoryResult>("sqlite-memory.ts", rawInput("shrunk"), 60_000);

    const perLive = kb(live.rss - afterParked.rss) / N;
    const perParked = kb(parked.rss - before.rss) / N;
    const perHibernated = kb(hibernated2.rss - hibernated1.rss) / N;
    log(
      `${N} live: RSS +${kb(live.rss - afterParked.rss).toFixed(0)} KB, heap +${kb(live.heapUsed - afterParked.heapUsed).toFixed(0)} KB, ` +
        `fds +${live.fds - afterParked.fds}; created in ${createSeconds.toFixed(1)} s; hibernate ${hibernateMs.toFixed(3)} ms/agent`,
    );
    log(`RSS: before ${kb(before.rss).toFixed(0)} KB → ${N} parked ${kb(parked.rss).toFixed(0)} KB; hibernated plateaus ${kb(hibernated1.rss).toFixed(0)} KB → ${kb(hibernated2.rss).toFixed(0)} KB`);
    return [
      {
        bench: "5 memory",
        metric: `RSS per idle live agent (${N.toLocaleString("en-US")} live), idle connections parked`,
        value: perParked,
        unit: "KB",
        goal: { op: "<=", value: 50 },
        note: `JS heap ${(kb(parked.heapUsed - before.heapUsed) / N).toFixed(1)} KB per agent; ${((parked.fds - before.fds) / N).toFixed(2)} open files per agent; ${where}`,
      },
      {
        bench: "5 memory",
        metric: `RSS per idle live agent (${N.toLocaleString("en-US")} live), every connection open`,
        value: perLive,
        unit: "KB",
        note: `JS heap ${(kb(live.heapUsed - afterParked.heapUsed) / N).toFixed(1)} KB + external ${(kb(live.external - afterParked.external) / N).toFixed(1)} KB per agent; ${((live.fds - afterParked.fds) / N).toFixed(1)} open files per agent; never parked (what parking saves)`,
      },
      {
        bench: "5 memory",
        metric: "setState call to an idle live agent whose connection is parked (reopen + write), p50",
        value: percentile(toParked, 50),
        unit: "ms",
        note: `p99 ${percentile(toParked, 99).toFixed(3)} ms; the same call with the connection open: p50 ${percentile(toOpen, 50).toFixed(3)} ms; ${toParked.length} agents; ${where}`,
      },
      {
        bench: "5 memory",
        metric: `RSS per hibernated agent (${N.toLocaleString("en-US")} more created and hibernated)`,
        value: perHibernated,
        unit: "KB",
        goal: { op: "<=", value: 1 },
        note: `heap ${(kb(hibernated2.heapUsed - hibernated1.heapUsed) / N).toFixed(3)} KB per agent; ${hibernated2.fds - before.fds} files left open`,
      },
      {
        bench: "5 memory",
        metric: "RSS kept after hibernating everything (vs. before creating)",
        value: kb(hibernated1.rss - afterParked.rss) / 1024,
        unit: "MB",
        note: `of ${(kb(live.rss - before.rss) / 1024).toFixed(1)} MB while live: freed memory the allocator keeps, reused by later agents`,
      },
      {
        bench: "5 memory",
        metric: "raw node:sqlite connection, no Hearth: opened, nothing read",
        value: rawOpen.kb,
        unit: "KB",
        note: `RSS per connection, ${rawOpen.connections.toLocaleString("en-US")} connections, each in a fresh process`,
      },
      {
        bench: "5 memory",
        metric: "raw node:sqlite connection, no Hearth: as Hearth leaves it (WAL, exclusive, schema, one write)",
        value: rawUsed.kb,
        unit: "KB",
        note: `${rawShrunk.kb.toFixed(0)} KB with PRAGMA shrink_memory after use; SQLite ${rawUsed.sqliteVersion}`,
      },
    ];
  } finally {
    await host.close();
  }
});
emit(rows);
