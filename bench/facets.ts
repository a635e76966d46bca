/**
 * Benchmark: facets (`ctx.facets`) and sub-agents, all under one parent.
 *
 *  1. Scale: 10,000 empty facets under one parent Durable Object — time to create them (a live-agent
 *     cap of 200 hibernating the oldest meanwhile), the heap and RSS they keep once all are
 *     hibernated against the parent alone, the disk each empty one takes, and the time to list the
 *     parent's `.facets` directory (facets have no list API: a registry of names is the app's, as it
 *     is for sub-agents). The same 10,000 as sub-agents of one agent, and `listSubAgents()`.
 *  2. Creation rate: new facets of one parent per second, 16 first requests in flight, on disk
 *     (relaxed durability) and on tmpfs, with what bare SQLite needs to create such a file.
 *  3. First request to a new facet, p50 / p99, one after another: a worker class, and a class
 *     loaded from code (`env.LOADER.get(…).getDurableObjectClass(…)`, a sandbox per facet).
 *
 * The scale part runs on tmpfs (/dev/shm) when there is one, only to keep the run short (creating a
 * file costs 3 – 50 ms on this machine's disk); `--dir disk` runs it on disk. Memory figures need
 * --expose-gc, and V8's young generation pinned as bench/memory.ts has it (bench/run.ts passes both):
 *
 *   npm run build && npx node --expose-gc --min-semi-space-size=16 --max-semi-space-size=16 bench/facets.ts \
 *     [--facets 10000] [--seconds 5] [--first 300] [--dir disk]
 */
import { readdirSync } from "node:fs";
import { Host, getAgentByName, type AgentNamespace, type DurableObjectNamespace } from "../dist/index.js";
import { SHM_DIR, emit, flag, log, shmAvailable, withDataDir, type Row } from "./lib/common.ts";
import { facetBenchClasses, type BenchInbox, type BenchParent } from "./lib/facet-classes.ts";
import { diskUsage, facetsDirUnder, medianMs, memory, names, openAll, p50p99 } from "./lib/facet-scale.ts";
import { measureRawCosts } from "./lib/raw-sqlite.ts";

const BENCH = "facets";
const FACETS = Number(flag("facets") ?? 10_000);
const RATE_SECONDS = Number(flag("seconds") ?? 5);
const FIRST = Number(flag("first") ?? 300);
const IN_FLIGHT = 16;
const WARMUP = 3_000;
const SCALE_LIVE_CAP = 200;

if (!(globalThis as { gc?: unknown }).gc) {
  console.error("facets.ts needs --expose-gc for its memory figures: node --expose-gc bench/facets.ts (bench/run.ts passes it)");
  process.exit(2);
}

const tmpfs = shmAvailable() ? SHM_DIR : undefined;
const scaleBase = flag("dir") === "disk" ? undefined : tmpfs;
const where = (base: string | undefined): string => (base ? "tmpfs (/dev/shm)" : "disk (os.tmpdir)");
const kb = (bytes: number): number => bytes / 1024;
const count = FACETS.toLocaleString("en-US");

function newHost(dataDir: string, options: { maxLiveAgents?: number } = {}): Host {
  return new Host({ dataDir, ...facetBenchClasses, hibernateAfterMs: 3_600_000, ...options });
}

function parentOf(host: Host, name: string) {
  return (host.env.BenchParents as DurableObjectNamespace<BenchParent>).getByName(name);
}

/** 1. 10,000 facets under one parent: create, memory when hibernated, disk, listing. */
async function facetScale(): Promise<Row[]> {
  return withDataDir("facets-scale", scaleBase, async (dataDir) => {
    // A low live-agent cap: the warm-up reaches the allocator's high-water mark of live facets already,
    // so the RSS figure shows what hibernated facets keep, not memory freed and kept by the allocator.
    const host = newHost(dataDir, { maxLiveAgents: SCALE_LIVE_CAP });
    try {
      // The warm-up's facets belong to another parent, so the measured one's directory holds FACETS files.
      const warm = parentOf(host, "warm-up");
      await openAll((name) => warm.open(name), names("warm", WARMUP), IN_FLIGHT);
      const parent = parentOf(host, "scale");
      host.hibernateIdleAgents();
      await parent.ping();
      const alone = await memory();

      const created = await openAll((name) => parent.open(name), names("tenant", FACETS), IN_FLIGHT);
      host.hibernateIdleAgents();
      await parent.ping();
      const all = await memory();
      if (host.stats.liveAgents !== 1) throw new Error(`expected the parent alone live, got ${host.stats.liveAgents} live`);

      const dir = facetsDirUnder(dataDir, FACETS);
      const disk = diskUsage(dir);
      if (disk.sqliteFiles !== FACETS) throw new Error(`expected ${FACETS} facet files, found ${disk.sqliteFiles}`);
      const listMs = await medianMs(5, () => readdirSync(dir).length);
      const perHeap = (all.heapUsed - alone.heapUsed) / FACETS;
      const perRss = (all.rss - alone.rss) / FACETS;
      log(
        `${count} facets created in ${created.seconds.toFixed(1)} s; hibernated: heap ${kb(alone.heapUsed).toFixed(0)} → ${kb(all.heapUsed).toFixed(0)} KB, ` +
          `RSS ${kb(alone.rss).toFixed(0)} → ${kb(all.rss).toFixed(0)} KB, fds ${alone.fds} → ${all.fds}; disk ${disk.files} files, ${kb(disk.bytes).toFixed(0)} KB`,
      );
      return [
        {
          bench: BENCH,
          metric: `create ${count} facets under one parent, ${where(scaleBase)}`,
          value: created.seconds,
          unit: "s",
          note: `${(FACETS / created.seconds).toFixed(0)} facets/s, ${IN_FLIGHT} first requests in flight, live-agent cap ${SCALE_LIVE_CAP} hibernating the oldest meanwhile`,
        },
        {
          bench: BENCH,
          metric: `JS heap per hibernated facet (${count} hibernated vs. the parent alone)`,
          value: perHeap,
          unit: "bytes",
          goal: { op: "<=", value: 100 },
          note: `goal: an idle hibernated facet ≈ 0 bytes; RSS ${perRss.toFixed(0)} bytes per facet (allocator noise included); ${all.fds - alone.fds} more files open`,
        },
        {
          bench: BENCH,
          metric: "disk per empty facet",
          value: disk.bytes / disk.sqliteFiles,
          unit: "bytes",
          note: `${(disk.allocated / disk.sqliteFiles).toFixed(0)} bytes allocated; ${disk.files} files for ${disk.sqliteFiles} facets (no -wal / -shm left once hibernated)`,
        },
        {
          bench: BENCH,
          metric: `list the parent's .facets directory (${count} files)`,
          value: listMs,
          unit: "ms",
          note: `readdirSync, median of 5, ${where(scaleBase)}; facets have no list API (names hashed into file names)`,
        },
      ];
    } finally {
      await host.close();
    }
  });
}

/** 1b. The same number of sub-agents under one agent, and listSubAgents(). */
async function subAgentScale(): Promise<Row[]> {
  return withDataDir("facets-sub", scaleBase, async (dataDir) => {
    const host = newHost(dataDir);
    try {
      const inbox = await getAgentByName(host.env.BenchInbox as AgentNamespace<BenchInbox>, "scale");
      const created = await openAll((name) => inbox.open(name), names("thread", FACETS), IN_FLIGHT);
      host.hibernateIdleAgents();
      const listed: number[] = [];
      for (let i = 0; i < 6; i++) {
        const { count: found, ms } = await inbox.listed();
        if (found !== FACETS) throw new Error(`listSubAgents() found ${found}, expected ${FACETS}`);
        if (i > 0) listed.push(ms); // the first wakes the parent and reads its table cold
      }
      listed.sort((a, b) => a - b);
      log(`${count} sub-agents created in ${created.seconds.toFixed(1)} s; listSubAgents() ${listed.map((ms) => ms.toFixed(1)).join(", ")} ms`);
      return [
        {
          bench: BENCH,
          metric: `create ${count} sub-agents under one agent, ${where(scaleBase)}`,
          value: created.seconds,
          unit: "s",
          note: `${(FACETS / created.seconds).toFixed(0)} sub-agents/s, ${IN_FLIGHT} subAgent() calls in flight`,
        },
        {
          bench: BENCH,
          metric: `listSubAgents() with ${count} sub-agents`,
          value: listed[Math.floor(listed.length / 2)]!,
          unit: "ms",
          note: `median of 5, measured inside the parent (the rows of its registry table, as SubAgentInfo objects)`,
        },
      ];
    } finally {
      await host.close();
    }
  });
}

/** 2 and 3: creation rate, then first-request latency of a worker class and of loaded code. */
async function rateAndFirst(base: string | undefined): Promise<Row[]> {
  return withDataDir("facets-rate", base, async (dataDir) => {
    const host = newHost(dataDir);
    try {
      const parent = parentOf(host, "rate");
      await openAll((name) => parent.open(name), names("warm", 50), IN_FLIGHT);
      const rate = await openAll((name) => parent.open(name), names("new", 1_000_000), IN_FLIGHT, RATE_SECONDS);
      const created = rate.latencies.length;
      const raw = measureRawCosts(base, 100);

      const first = p50p99((await openAll((name) => parent.open(name), names("first", FIRST), 1)).latencies);
      await openAll((name) => parent.openLoaded(name, "bench-app"), names("loaded-warm", 10), 1);
      const loaded = p50p99((await openAll((name) => parent.openLoaded(name, "bench-app"), names("loaded", FIRST), 1)).latencies);
      log(
        `${where(base)}: ${created} facets in ${rate.seconds.toFixed(1)} s; first request p50 ${first.p50.toFixed(2)} / p99 ${first.p99.toFixed(2)} ms, ` +
          `loaded p50 ${loaded.p50.toFixed(2)} / p99 ${loaded.p99.toFixed(2)} ms; live ${host.stats.liveAgents}`,
      );
      const rateOf = p50p99(rate.latencies);
      return [
        {
          bench: BENCH,
          metric: `facets created per second, one parent, ${where(base)}, relaxed`,
          value: created / rate.seconds,
          unit: "facets/s",
          goal: { op: ">=", value: 1_000 },
          note: `${created} in ${rate.seconds.toFixed(1)} s, ${IN_FLIGHT} in flight; first request p50 ${rateOf.p50.toFixed(1)} / p99 ${rateOf.p99.toFixed(1)} ms under that load`,
        },
        {
          bench: BENCH,
          metric: `raw SQLite, no Hearth: create + close one facet-sized file, ${where(base)}`,
          value: 1000 / raw.createMs,
          unit: "files/s",
          note: `${raw.createMs.toFixed(2)} ms per file: the floor of the figure above`,
        },
        {
          bench: BENCH,
          metric: `first request to a new facet, worker class, p50, ${where(base)}`,
          value: first.p50,
          unit: "ms",
          note: `p99 ${first.p99.toFixed(2)} ms; ${FIRST} facets one after another, measured in the parent`,
        },
        {
          bench: BENCH,
          metric: `first request to a new facet, code loaded in a sandbox, p50, ${where(base)}`,
          value: loaded.p50,
          unit: "ms",
          goal: { op: "<=", value: 5 },
          note: `p99 ${loaded.p99.toFixed(2)} ms; getDurableObjectClass("App") of one loaded worker, a sandbox per facet; ${FIRST} one after another`,
        },
      ];
    } finally {
      await host.close();
    }
  });
}

const rows: Row[] = [];
rows.push(...(await facetScale()));
rows.push(...(await subAgentScale()));
rows.push(...(await rateAndFirst(undefined)));
if (tmpfs) rows.push(...(await rateAndFirst(tmpfs)));
emit(rows);
