/**
 * CPU per commit of capturing it for the cluster's log (session, stats, log_seq, changeset, a new
 * session) against the same commit with no replication. Not a test: run it by hand, on a quiet machine
 * (wall-clock figures are noisy when other work shares the cores; CPU time is what is compared):
 *
 *   npx node test/cluster/replica/measure-capture-cost.ts [commits]
 *
 * Each commit is acknowledged before the next (no coalescing): the worst case, one changeset per commit.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import type { LogAppender } from "../../../src/cluster/log.ts";
import { replicate } from "../../../src/cluster/replica/capture.ts";
import { MemoryLog } from "../../../src/cluster/replica/memory-log.ts";
import { openAgentFile } from "../../../src/storage/connection.ts";
import type { ReplicaLink } from "../../../src/storage/replication.ts";

const COMMITS = Number(process.argv[2] ?? 5000);
const ROW = "x".repeat(1024);

interface Workload {
  name: string;
  setup: string;
  /** Runs the writes of commit number `i`. */
  write(db: DatabaseSync, i: number): void;
}

const workloads: Workload[] = [
  {
    name: "1 counter upsert",
    setup: "CREATE TABLE counters (k TEXT PRIMARY KEY, n INTEGER)",
    write: (db) => db.prepare("INSERT INTO counters VALUES ('c', 1) ON CONFLICT (k) DO UPDATE SET n = n + 1").run(),
  },
  {
    name: "5 × 1 KB inserts + 2 upserts",
    setup: "CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT); CREATE TABLE counters (k TEXT PRIMARY KEY, n INTEGER)",
    write: (db, i) => {
      const insert = db.prepare("INSERT INTO rows VALUES (?, ?)");
      for (let j = 0; j < 5; j++) insert.run(i * 5 + j, ROW);
      const upsert = db.prepare("INSERT INTO counters VALUES (?, 1) ON CONFLICT (k) DO UPDATE SET n = n + 1");
      upsert.run("a");
      upsert.run("b");
    },
  },
];

/** A log that acknowledges at once and keeps nothing: the capture's own cost, without a log's. */
const instantLog: LogAppender = { append: () => Promise.resolve() };

async function measure(workload: Workload, mode: "none" | "capture (instant ack)" | "capture (MemoryLog)"): Promise<{ cpuUs: number; wallUs: number; bytes: number }> {
  const dir = mkdtempSync(join(tmpdir(), "hearth-capture-cost-"));
  try {
    const { db } = openAgentFile({ path: join(dir, "a.sqlite"), durability: "relaxed", identity: "bench/a", bootStamp: 0 });
    db.exec(workload.setup);
    let bytes = 0;
    const counting: LogAppender = {
      append: (entry) => {
        bytes += entry.payload.byteLength;
        return mode === "capture (MemoryLog)" ? memory.append(entry) : instantLog.append(entry);
      },
    };
    const memory = new MemoryLog();
    const { epoch, startSeq } = memory.claim("bench/a");
    const link: ReplicaLink | undefined = mode === "none" ? undefined : replicate({ actorId: "bench/a", epoch, startSeq, appender: counting }).attach(db);
    const begin = db.prepare("BEGIN");
    const commit = db.prepare("COMMIT");
    const run = async (count: number, offset: number): Promise<void> => {
      for (let i = 0; i < count; i++) {
        begin.run();
        workload.write(db, offset + i);
        link?.beforeCommit();
        commit.run();
        await link?.committed();
      }
    };
    await run(200, 1_000_000); // warm-up
    const cpu = process.cpuUsage();
    const wall = process.hrtime.bigint();
    await run(COMMITS, 0);
    const used = process.cpuUsage(cpu);
    const wallUs = Number(process.hrtime.bigint() - wall) / 1000 / COMMITS;
    link?.detach();
    db.close();
    return { cpuUs: (used.user + used.system) / COMMITS, wallUs, bytes: bytes / (COMMITS + 200) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`${COMMITS} commits each, relaxed durability (WAL, synchronous = NORMAL), one commit acknowledged before the next`);
for (const workload of workloads) {
  const none = await measure(workload, "none");
  for (const mode of ["capture (instant ack)", "capture (MemoryLog)"] as const) {
    const captured = await measure(workload, mode);
    console.log(
      `${workload.name}: none ${none.cpuUs.toFixed(1)} µs CPU/commit; ${mode} ${captured.cpuUs.toFixed(1)} µs ` +
        `(+${(captured.cpuUs - none.cpuUs).toFixed(1)} µs), changeset ${Math.round(captured.bytes)} B; wall ${none.wallUs.toFixed(1)} → ${captured.wallUs.toFixed(1)} µs`,
    );
  }
}
