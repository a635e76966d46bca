/**
 * Benchmark 2: first request to never-seen agents. Every HTTP request goes to a new name, so each
 * one creates an agent: its SQLite file (WAL, schema), onStart (CREATE TABLE), then the POST
 * (setState + INSERT). Host options are the defaults (maxLiveAgents 4,096, hibernateAfterMs 10 s), so
 * a long run also pays for hibernating the oldest agents.
 *
 * Run on the OS temp dir (disk) and on tmpfs (/dev/shm), plus the raw cost of creating one such
 * SQLite file without Hearth, to separate file-system cost from runtime cost.
 */
import { Host, serve } from "../dist/index.js";
import { Counter } from "./lib/agents.ts";
import { SHM_DIR, collectDataDirs, emit, findWrk, log, runChild, shmAvailable, withDataDir, type Row, type Wrk } from "./lib/common.ts";
import type { HttpLoadInput, HttpLoadResult } from "./lib/http-load.ts";
import { measureHearthCreate, measureRawCosts } from "./lib/raw-sqlite.ts";

const CONNECTIONS = 16;

async function overHttp(base: string | undefined, where: string, duration: number, wrk?: Wrk): Promise<Row[]> {
  return withDataDir("new-agents", base, async (dataDir) => {
    const host = new Host({ dataDir, agents: { Counter } });
    const server = await serve({ host, port: 0 });
    try {
      const result = await runChild<HttpLoadResult>(
        "http-load.ts",
        {
          url: `${server.url}/agents/counter/`,
          method: "POST",
          body: "{}",
          connections: CONNECTIONS,
          pipelining: 1,
          duration,
          distinctPrefix: `fresh-${process.pid}`,
          ...(wrk ? { tool: "wrk", wrkBinary: wrk.binary } : {}),
        } satisfies HttpLoadInput,
        (duration + 30) * 1000,
      );
      log(`${where}, ${result.tool}: ${result.ok} new agents in ${result.duration}s, non2xx ${result.non2xx}, errors ${result.errors}; live ${host.stats.liveAgents}`);
      return [
        {
          bench: "2 new-agents",
          metric: `first request to a never-seen agent (HTTP POST), data dir on ${where}, ${result.tool}`,
          value: result.rate,
          unit: "agents/s",
          goal: { op: ">=", value: 2_000 },
          note: `${CONNECTIONS} conns, ${duration}s, ${result.ok} agents; latency p50 ${result.latencyP50} ms / p99 ${result.latencyP99} ms; ${
            result.non2xx + result.errors
          } errors`,
        },
      ];
    } finally {
      await server.close();
      await host.close(); // waits until the files it made without fsync are settled
    }
  });
}

async function rawRows(base: string | undefined, where: string): Promise<Row[]> {
  const costs = measureRawCosts(base, 200);
  const hearth = await measureHearthCreate(base, 200);
  return [
    {
      bench: "2 new-agents",
      metric: `raw SQLite, no Hearth: create + close one agent file the way Hearth did before templates, ${where}`,
      value: 1000 / costs.createMs,
      unit: "files/s",
      note: `${costs.createMs.toFixed(3)} ms per file: pragmas, WAL switch through a rollback journal, schema, five fsyncs`,
    },
    {
      bench: "2 new-agents",
      metric: `Hearth's storage alone: new agent file (template, no fsync), identity, one write, close, ${where}`,
      value: 1000 / hearth.relaxedMs,
      unit: "files/s",
      note: `${hearth.relaxedMs.toFixed(3)} ms per file (CPU ${hearth.relaxedCpuMs.toFixed(3)} ms), settled in the background; durability strict (template fsynced): ${hearth.strictMs.toFixed(3)} ms`,
    },
  ];
}

// Data directories are deleted at the end: deleting one run's files makes the next run's creations dearer.
const emptyTrash = collectDataDirs();
// autocannon is itself a busy Node process on the same cores; wrk (C) leaves the server more of them.
const found = findWrk();
const wrk = "missing" in found ? undefined : found;
if ("missing" in found) log(found.missing);
const rows: Row[] = [];
rows.push(...(await overHttp(undefined, "disk (os.tmpdir)", 5)));
if (wrk) rows.push(...(await overHttp(undefined, "disk (os.tmpdir)", 5, wrk)));
rows.push(...(await rawRows(undefined, "disk")));
if (shmAvailable()) {
  rows.push(...(await overHttp(SHM_DIR, "tmpfs (/dev/shm)", 4)));
  if (wrk) rows.push(...(await overHttp(SHM_DIR, "tmpfs (/dev/shm)", 4, wrk)));
  rows.push(...(await rawRows(SHM_DIR, "tmpfs")));
}
emptyTrash();
emit(rows);
