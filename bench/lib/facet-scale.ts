/**
 * Helpers of bench/facets.ts: children opened with a fixed number of calls in flight, heap and RSS
 * snapshots after a full collection, and the disk a directory of SQLite files takes.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { nextTurn, percentile } from "./common.ts";

/** `name-0` … `name-(count-1)`. */
export function names(prefix: string, count: number, from = 0): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}-${from + i}`);
}

export interface Opened {
  /** Milliseconds each first request took, as the parent measured it, ascending. */
  latencies: number[];
  /** Wall-clock seconds for all of them. */
  seconds: number;
}

/**
 * Opens every name through `open` (a parent's method that starts the child and returns the ms it
 * took), `inFlight` at a time; stops early, without starting more, once `untilSeconds` have passed.
 */
export async function openAll(open: (name: string) => Promise<number>, all: readonly string[], inFlight: number, untilSeconds = Infinity): Promise<Opened> {
  const latencies: number[] = [];
  const start = performance.now();
  const deadline = start + untilSeconds * 1000;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < all.length && performance.now() < deadline) {
      const name = all[next++]!;
      latencies.push(await open(name));
      // Calls from one in-process loop never leave the microtask queue otherwise (see nextTurn).
      if (next % 64 === 0) await nextTurn();
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { latencies: latencies.sort((a, b) => a - b), seconds: (performance.now() - start) / 1000 };
}

/** p50 and p99 of ascending latencies, as a note. */
export function p50p99(sorted: readonly number[]): { p50: number; p99: number } {
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

export interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
  fds: number;
}

/** Memory after three full collections (needs --expose-gc). */
export async function memory(): Promise<Memory> {
  const gc = (globalThis as { gc?: () => void }).gc!;
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const usage = process.memoryUsage();
  return { rss: usage.rss, heapUsed: usage.heapUsed, external: usage.external, fds: readdirSync("/proc/self/fd").length };
}

export interface DiskUsage {
  files: number;
  sqliteFiles: number;
  /** Sum of file sizes. */
  bytes: number;
  /** Sum of the blocks the file system allocated (what `du` reports). */
  allocated: number;
}

/** Every file under `dir`, recursively. */
export function diskUsage(dir: string): DiskUsage {
  const usage: DiskUsage = { files: 0, sqliteFiles: 0, bytes: 0, allocated: 0 };
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const stat = statSync(join(entry.parentPath, entry.name));
    usage.files++;
    if (entry.name.endsWith(".sqlite")) usage.sqliteFiles++;
    usage.bytes += stat.size;
    usage.allocated += stat.blocks * 512;
  }
  return usage;
}

/** The `*.facets` directory under `dir` (a parent's children) that holds `files` files. */
export function facetsDirUnder(dir: string, files: number): string {
  const found = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name.endsWith(".facets"))
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((path) => readdirSync(path).length === files);
  if (found.length !== 1) throw new Error(`expected one .facets directory of ${files} files under ${dir}, found ${found.length}`);
  return found[0]!;
}

/** Median milliseconds of `runs` calls of `fn` (after one not counted). */
export async function medianMs(runs: number, fn: () => unknown): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    times.push(performance.now() - start);
  }
  return percentile(times.sort((a, b) => a - b), 50);
}
