/**
 * Diagnostic: times every node:sqlite statement the process runs (agents' files and the host's
 * index alike) while switched on, grouped by SQL text. Used by `schedule-firing.ts --sql-timing` to
 * tell how much of the dispatch time SQLite takes. Patches the prototypes when first imported.
 */
import { DatabaseSync, StatementSync } from "node:sqlite";
import { log } from "./common.ts";

interface Tally {
  calls: number;
  ms: number;
}

const tallies = new Map<string, Tally>();
let on = false;

function timed<T>(sql: string, run: () => T): T {
  if (!on) return run();
  const start = performance.now();
  try {
    return run();
  } finally {
    const key = sql.replace(/\s+/g, " ").trim().slice(0, 100);
    const tally = tallies.get(key) ?? { calls: 0, ms: 0 };
    tally.calls++;
    tally.ms += performance.now() - start;
    tallies.set(key, tally);
  }
}

type Method = (this: unknown, ...args: unknown[]) => unknown;
const statement = StatementSync.prototype as unknown as Record<"run" | "get" | "all", Method>;
for (const name of ["run", "get", "all"] as const) {
  const original = statement[name];
  statement[name] = function (this: unknown, ...args: unknown[]) {
    return timed((this as StatementSync).sourceSQL, () => original.apply(this, args));
  };
}
const database = DatabaseSync.prototype as unknown as { exec: Method };
const originalExec = database.exec;
database.exec = function (this: unknown, ...args: unknown[]) {
  return timed(`exec ${String(args[0])}`, () => originalExec.apply(this, args));
};

/** Starts timing; returns a function that stops it and logs the breakdown against wall and CPU time. */
export function startSqlTiming(label: string): () => void {
  tallies.clear();
  on = true;
  const wallStart = performance.now();
  const cpuStart = process.cpuUsage();
  return () => {
    on = false;
    const wall = performance.now() - wallStart;
    const cpu = process.cpuUsage(cpuStart);
    const sorted = [...tallies].sort((a, b) => b[1].ms - a[1].ms);
    const total = sorted.reduce((sum, [, t]) => sum + t.ms, 0);
    log(
      `${label}: SQLite ${total.toFixed(0)} ms of ${wall.toFixed(0)} ms wall (${((100 * total) / wall).toFixed(0)} %); ` +
        `CPU user ${(cpu.user / 1000).toFixed(0)} ms, system ${(cpu.system / 1000).toFixed(0)} ms`,
    );
    for (const [sql, t] of sorted.slice(0, 12)) {
      log(`  ${t.ms.toFixed(0).padStart(6)} ms ${String(t.calls).padStart(7)} × ${((1000 * t.ms) / t.calls).toFixed(1).padStart(6)} µs  ${sql}`);
    }
  };
}
