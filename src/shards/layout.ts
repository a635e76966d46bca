import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Where each shard keeps the host's own files (schedule index, catalog, task journal): one directory
 * per shard under `<dataDir>/shards/`, since those files are opened by one thread each. Agents' files
 * stay where they always are: which shard opens one is decided by hashing, not by where it lies.
 */
export function shardStateDir(dataDir: string, index: number, count: number): string {
  return count <= 1 ? dataDir : join(dataDir, "shards", `${count}`, `${index}`);
}

/** The files of a host's state that are rebuilt from the agents' files when missing. */
const REBUILT_FILES = ["host.sqlite", "host.sqlite-wal", "catalog.sqlite", "catalog.sqlite-wal"];

/**
 * Gets a data directory ready for `count` shards before any host opens it. The schedule index and the
 * catalog of a layout other than the last one used are stale (agents wrote schedules through other
 * indexes meanwhile), so they are removed and each host rebuilds its own from the agents' files: once,
 * when the number of threads changes. Returns whether that happened.
 */
export function prepareShardLayout(dataDir: string, count: number): boolean {
  const shardsDir = join(dataDir, "shards");
  const marker = join(shardsDir, "layout");
  const last = existsSync(marker) ? Number(readFileSync(marker, "utf8").trim()) : existsSync(shardsDir) ? Number.NaN : 1;
  if (last === count) return false;
  // A change: every index and catalog, the single host's and the shards', is rebuilt.
  for (const file of REBUILT_FILES) rmSync(join(dataDir, file), { force: true });
  rmSync(shardsDir, { recursive: true, force: true });
  if (count > 1) {
    mkdirSync(shardsDir, { recursive: true });
    for (let index = 0; index < count; index++) mkdirSync(shardStateDir(dataDir, index, count), { recursive: true });
    writeFileSync(marker, `${count}\n`);
  }
  return true;
}
