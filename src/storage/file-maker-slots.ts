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
  /** Held -wal files the event loop handed back to be emptied and made pooled -wal files again. */
  returned: 7,
  /** Of those, how many the maker took out of {@link RETURN_RING} (their entries are free again). */
  reused: 8,
} as const;

/**
 * Entries for held files handed back and not yet reused, after the counters: each is the number of a
 * file in the pool's `held/` folder. Full (the maker behind), a close empties its -wal itself.
 */
export const RETURN_RING = 64;
const COUNTERS = 9;

export const SLOT_COUNT = COUNTERS + RETURN_RING;

/** The slot of the ring entry for the `n`th file handed back. */
export function returnSlot(n: number): number {
  return COUNTERS + (n % RETURN_RING);
}

/** The folder where open databases' -wal files get their second name; apart from the maker's batches. */
export function heldFolder(dir: string): string {
  return join(dir, "held");
}

/** Held file `index` of a pool. */
export function heldFile(dir: string, index: number): string {
  return join(heldFolder(dir), String(index));
}

/** Files per batch folder. */
export const POOL_BATCH = 16;

export type PoolKind = "db" | "wal";

const COUNTERS_OF: Readonly<Record<PoolKind, { made: number; taken: number }>> = {
  db: { made: SLOT.madeDb, taken: SLOT.takenDb },
  wal: { made: SLOT.madeWal, taken: SLOT.takenWal },
};

/** The slots counting the files of `kind` made and taken. */
export function countersOf(kind: PoolKind): { made: number; taken: number } {
  return COUNTERS_OF[kind];
}

/**
 * Batch folders of each kind, used in turn: batch `b` goes to folder `b % BATCH_FOLDERS` once the
 * batch before it there is all taken. A folder is never removed while the pool runs: on ext4 without
 * a journal, every inode freed in the last minutes is passed over, one by one, by each creation in
 * its block group, so removing a folder per batch made every later file dearer to create.
 */
export const BATCH_FOLDERS = 8;

/** The batch that file `index` belongs to. */
export function batchOf(index: number): number {
  return Math.floor(index / POOL_BATCH);
}

/** The folder of the batch that holds file `index` of `kind`. */
export function batchFolder(dir: string, kind: PoolKind, index: number): string {
  return join(dir, `${kind}-${batchOf(index) % BATCH_FOLDERS}`);
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
