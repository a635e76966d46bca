/** What a file pool and its maker thread share: counters in one Int32Array, and where files are. */
import { join } from "node:path";

export const SLOT = {
  madeDb: 0,
  takenDb: 1,
  madeWal: 2,
  takenWal: 3,
  /** Bumped by every take: the maker sleeps on it. */
  wake: 4,
  stop: 5,
  failed: 6,
} as const;

export const SLOT_COUNT = 7;

/** Files per batch folder. */
export const POOL_BATCH = 16;

export type PoolKind = "db" | "wal";

/** The folder of the batch that holds file `index` of `kind`. */
export function batchFolder(dir: string, kind: PoolKind, index: number): string {
  return join(dir, `${kind}-${Math.floor(index / POOL_BATCH)}`);
}

/** File `index` of `kind` in a pool's folder. */
export function pooledFile(dir: string, kind: PoolKind, index: number): string {
  return join(batchFolder(dir, kind, index), String(index));
}

/** What the maker thread is started with. */
export interface FileMakerData {
  readonly dir: string;
  readonly database: Uint8Array;
  /** Files of each kind kept made and not taken (a multiple of {@link POOL_BATCH}). */
  readonly target: number;
  readonly shared: SharedArrayBuffer;
}
