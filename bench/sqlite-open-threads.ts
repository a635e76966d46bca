/**
 * What one agent file's open-write-close costs SQLite when two threads of one process do it at once,
 * against one thread alone: bare node:sqlite, no Hearth. Each thread opens files copied from a WAL
 * template (as Hearth's new agents are), takes the exclusive lock, writes one row and closes, while it
 * holds `--held` other connections open (the crowded sweep's steady state). SQLite's unix VFS keeps
 * one list of open files per process behind one mutex, walked at every open; `unix-none` (no locks)
 * keeps none. Prints CPU per cycle of each thread and cycles per second over all threads.
 *
 *   npx node bench/sqlite-open-threads.ts [--cycles 3000] [--held 300] [--dir /dev/shm] [--rounds 3]
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { emit, flag, log, shmAvailable, SHM_DIR, type Row } from "./lib/common.ts";

interface Job {
  dir: string;
  template: string;
  cycles: number;
  held: number;
  vfs: "unix" | "unix-none";
  start: SharedArrayBuffer;
}

interface Done {
  cpuUs: number;
  wallMs: number;
}

function uri(path: string, vfs: Job["vfs"]): string {
  return vfs === "unix" ? path : `file:${path}?vfs=${vfs}`;
}

/** One thread's run: copies its files, opens `held` of them and keeps them, then times the cycles. */
function runJob(job: Job): Done {
  mkdirSync(job.dir, { recursive: true });
  const total = job.held + job.cycles;
  const paths = Array.from({ length: total }, (_, i) => join(job.dir, `a${i}.sqlite`));
  for (const path of paths) copyFileSync(job.template, path);
  const open = (path: string) => new DatabaseSync(uri(path, job.vfs), { enableForeignKeyConstraints: true });
  const held = paths.slice(0, job.held).map((path) => {
    const db = open(path);
    db.exec("PRAGMA locking_mode = EXCLUSIVE; PRAGMA synchronous = OFF");
    return db;
  });
  // Both threads start the timed part together.
  const gate = new Int32Array(job.start);
  Atomics.add(gate, 0, 1);
  while (Atomics.load(gate, 1) === 0) Atomics.wait(gate, 1, 0, 5);
  const cpu = process.threadCpuUsage();
  const started = performance.now();
  for (const path of paths.slice(job.held)) {
    const db = open(path);
    db.exec("PRAGMA locking_mode = EXCLUSIVE; PRAGMA synchronous = OFF");
    db.prepare("INSERT INTO t (v) VALUES (?)").run(path.length);
    db.close();
  }
  const used = process.threadCpuUsage(cpu);
  const wallMs = performance.now() - started;
  for (const db of held) db.close();
  return { cpuUs: (used.user + used.system) / job.cycles, wallMs };
}

if (!isMainThread) {
  parentPort!.postMessage(runJob(workerData as Job));
} else {
  const CYCLES = Number(flag("cycles") ?? 3_000);
  const HELD = Number(flag("held") ?? 300);
  const ROUNDS = Number(flag("rounds") ?? 3);
  const base = flag("dir") ?? (shmAvailable() ? SHM_DIR : tmpdir());
  const root = mkdtempSync(join(base, "hearth-bench-open-threads-"));
  try {
    const template = join(root, "template.sqlite");
    const made = new DatabaseSync(template);
    made.exec("PRAGMA journal_mode = WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER)");
    made.close();

    const runRound = async (threads: number, vfs: Job["vfs"], round: number): Promise<Done[]> => {
      const start = new SharedArrayBuffer(8);
      const gate = new Int32Array(start);
      const done = Array.from({ length: threads }, (_, i) => {
        const job: Job = { dir: join(root, `${vfs}-${threads}-${round}-${i}`), template, cycles: CYCLES, held: HELD, vfs, start };
        const worker = new Worker(new URL(import.meta.url), { workerData: job });
        return new Promise<Done>((resolve, reject) => {
          worker.once("message", resolve);
          worker.once("error", reject);
        });
      });
      while (Atomics.load(gate, 0) < threads) await new Promise((resolve) => setTimeout(resolve, 5));
      Atomics.store(gate, 1, 1);
      Atomics.notify(gate, 1);
      return Promise.all(done);
    };

    const rows: Row[] = [];
    for (const vfs of ["unix", "unix-none"] as const) {
      const results = new Map<number, { cpu: number[]; rate: number[] }>([[1, { cpu: [], rate: [] }], [2, { cpu: [], rate: [] }]]);
      for (let round = 0; round < ROUNDS; round++) {
        for (const threads of [1, 2]) {
          const done = await runRound(threads, vfs, round);
          const cpu = done.reduce((sum, one) => sum + one.cpuUs, 0) / done.length;
          const rate = (threads * CYCLES) / (Math.max(...done.map((one) => one.wallMs)) / 1000);
          results.get(threads)!.cpu.push(cpu);
          results.get(threads)!.rate.push(rate);
          log(`${vfs}, ${threads} thread(s), round ${round + 1}: ${cpu.toFixed(1)} µs of CPU per cycle per thread, ${Math.round(rate)} cycles/s`);
        }
      }
      const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
      for (const [threads, { cpu, rate }] of results) {
        rows.push({
          bench: "sqlite-open-threads",
          metric: `open + exclusive lock + one INSERT + close, ${threads} thread(s) at once, vfs ${vfs}: CPU per cycle (median)`,
          value: Number(median(cpu).toFixed(1)),
          unit: "µs",
          note: `${Math.round(median(rate))} cycles/s over all threads; ${HELD} other connections held per thread; ${ROUNDS} rounds of ${CYCLES}; ${base}`,
        });
      }
    }
    emit(rows);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
