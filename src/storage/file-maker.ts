/**
 * The thread that makes a pool's files (file-pool.ts): the stamped template as `.db` files and empty
 * `.wal` files, in batches of {@link POOL_BATCH}, each batch in a folder of its own (a few folders
 * used in turn, see {@link BATCH_FOLDERS}). A batch is published (its count raised in shared
 * memory) only once all its files exist, and takes only come from published batches: the slow part
 * of a creation (the kernel finding a free inode, with the folder locked) never holds a folder the
 * event loop renames out of. Once `target` files of each kind are made and not yet taken, the
 * thread sleeps until a take wakes it.
 *
 * Held -wal files the event loop hands back (file-pool.ts `returnHeldWal`) are emptied here as soon as
 * they arrive, and become the next pooled -wal files instead of new ones: a close then neither frees
 * a file's blocks on the event loop nor makes the maker create an inode.
 */
import { closeSync, mkdirSync, openSync, renameSync, truncateSync, writeFileSync } from "node:fs";
import { workerData } from "node:worker_threads";
import { BATCH_FOLDERS, POOL_BATCH, SLOT, batchFolder, batchOf, countersOf, heldFile, pooledFile, returnSlot, type FileMakerData, type PoolKind } from "./file-maker-slots.ts";

const { dir, database, target, shared } = workerData as FileMakerData;
const slots = new Int32Array(shared);
/** Files handed back that were emptied (the first `emptied`) and reused (the first `reused`), in the order they came. */
let emptied = 0;
let reused = 0;

/** Empties every held file handed back since the last look: their blocks are freed now, not when they are reused. */
function emptyReturned(): boolean {
  const returned = Atomics.load(slots, SLOT.returned);
  const any = emptied < returned;
  for (; emptied < returned; emptied++) truncateSync(heldFile(dir, Atomics.load(slots, returnSlot(emptied))), 0);
  return any;
}

/** Moves an emptied file handed back to `file`; false when there is none. */
function reuse(file: string): boolean {
  if (reused >= emptied && !emptyReturned()) return false;
  renameSync(heldFile(dir, Atomics.load(slots, returnSlot(reused))), file);
  Atomics.store(slots, SLOT.reused, ++reused); // its ring entry is free again
  return true;
}

function makeBatch(kind: PoolKind): boolean {
  const { made, taken } = countersOf(kind);
  const count = Atomics.load(slots, made);
  const used = Atomics.load(slots, taken);
  if (count - used >= target) return false;
  // The folder's previous batch must be all taken (with target < (BATCH_FOLDERS - 1) batches, it is).
  if (used < (batchOf(count) - BATCH_FOLDERS + 1) * POOL_BATCH) return false;
  mkdirSync(batchFolder(dir, kind, count), { recursive: true });
  for (let index = count; index < count + POOL_BATCH; index++) {
    const file = pooledFile(dir, kind, index);
    if (kind === "db") writeFileSync(file, database, { flag: "wx" });
    else if (!reuse(file)) closeSync(openSync(file, "wx"));
  }
  Atomics.store(slots, made, count + POOL_BATCH);
  return true;
}

try {
  while (Atomics.load(slots, SLOT.stop) === 0) {
    const asked = Atomics.load(slots, SLOT.wake);
    const busy = emptyReturned() || makeBatch("wal") || makeBatch("db");
    if (!busy) Atomics.wait(slots, SLOT.wake, asked, 1_000);
  }
} catch {
  Atomics.store(slots, SLOT.failed, 1); // the folder is gone or the disk full: files are made on the spot
}
