import { syncFileSystems } from "./syncfs.ts";
import { setTimeout } from "node:timers"; // process-wide: never an actor's timer (host/actor-timers.ts)

/**
 * The close of a quiet connection (docs/decisions/0022-quiet-sessions.md), in the order that keeps the
 * file intact through a power loss, with the syncs off the event loop and shared by every connection
 * closing at the same time:
 *
 * 1. one file-system sync: the WAL's frames are durable;
 * 2. `copy()`: a checkpoint without sync writes them into the database file (a power loss now may
 *    tear the database, but the durable WAL repairs it at the next open);
 * 3. one file-system sync: the database file is durable;
 * 4. `close()`: SQLite's own checkpoint at close finds nothing left to copy and deletes the WAL.
 *
 * A connection used again before step 4 leaves the batch ({@link cancelQuietClose}); after step 2 its
 * database file must be synced before a new write may restart the WAL.
 */
export interface QuietClose {
  /** A folder on the file's file system (what `sync -f` is given). */
  readonly folder: string;
  /** Step 2: checkpoint without sync (the WAL stays as it is). */
  copy(): void;
  /** Step 4: close the connection. */
  close(): void;
  /** Where sync is not possible here: close the usual way, syncing on this thread. */
  closeNow(): void;
}

/** How far a queued close got: "queued" (nothing done yet) or "copied" (step 2 done, not yet synced). */
type QuietClosePhase = "queued" | "copied";

/** Closes gathered for one batch, in ms: one pair of syncs serves all of them. */
const BATCH_DELAY_MS = 50;
/** A batch this long starts at once. */
const BATCH_MAX = 1_000;

const phases = new Map<QuietClose, QuietClosePhase>();
let gathering: QuietClose[] = [];
let timer: ReturnType<typeof setTimeout> | undefined;
let running = 0;
let idle: { promise: Promise<void>; resolve: () => void } | undefined;
let sync: (folders: string[]) => Promise<boolean> = syncFileSystems;

/** Queues `item` to be closed in the background. */
export function queueQuietClose(item: QuietClose): void {
  phases.set(item, "queued");
  gathering.push(item);
  if (gathering.length >= BATCH_MAX) startBatch();
  else if (timer === undefined) {
    // Not unref'd: a close under way keeps the process alive for the ~0.1 s it takes.
    timer = setTimeout(startBatch, BATCH_DELAY_MS);
  }
}

/** Takes `item` out of its batch (its owner knows whether step 2 ran: it ran `copy()`). */
export function cancelQuietClose(item: QuietClose): void {
  // Left in its batch's list: each step runs only for the items still in `phases`.
  phases.delete(item);
  settleIdle();
}

/** Connections whose close is under way (each still holds its file descriptors). */
export function quietClosesPending(): number {
  return phases.size;
}

/**
 * Resolves when every close queued so far is done.
 * @example
 * await whenQuietClosesDone(); // every parked connection is closed now
 */
export function whenQuietClosesDone(): Promise<void> {
  if (phases.size === 0 && running === 0) return Promise.resolve();
  if (idle === undefined) {
    let resolve!: () => void;
    idle = { promise: new Promise<void>((done) => (resolve = done)), resolve };
  }
  return idle.promise;
}

/** Replaces the file-system sync (tests hold a batch between its steps with it); none restores it. */
export function setQuietCloseSync(replacement?: (folders: string[]) => Promise<boolean>): void {
  sync = replacement ?? syncFileSystems;
}

function startBatch(): void {
  if (timer !== undefined) clearTimeout(timer);
  timer = undefined;
  const batch = gathering;
  gathering = [];
  running++;
  void runBatch(batch).finally(() => {
    running--;
    settleIdle();
  });
}

function settleIdle(): void {
  if (phases.size === 0 && running === 0 && idle !== undefined) {
    idle.resolve();
    idle = undefined;
  }
}

async function runBatch(batch: QuietClose[]): Promise<void> {
  const folders = (items: QuietClose[]) => [...new Set(items.map((item) => item.folder))];
  if (!(await syncStep(batch, folders))) return;
  for (const item of batch) {
    if (phases.get(item) !== "queued") continue;
    try {
      item.copy();
      phases.set(item, "copied");
    } catch {
      phases.delete(item);
      attempt(item, "closeNow");
    }
  }
  if (!(await syncStep(batch, folders))) return;
  for (const item of batch) {
    if (phases.get(item) !== "copied") continue;
    phases.delete(item);
    attempt(item, "close");
  }
}

/** A close that fails is reported, never thrown into the batch (the other connections still close). */
function attempt(item: QuietClose, step: "close" | "closeNow"): void {
  try {
    item[step]();
  } catch (error) {
    console.warn(`[hearth] closing a parked connection in ${item.folder} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** One sync for the items still in the batch; where it fails, each closes the usual way. */
async function syncStep(batch: QuietClose[], folders: (items: QuietClose[]) => string[]): Promise<boolean> {
  const live = batch.filter((item) => phases.has(item));
  if (live.length === 0) return false;
  if (await sync(folders(live)).catch(() => false)) return true;
  for (const item of live) {
    if (!phases.has(item)) continue;
    phases.delete(item);
    attempt(item, "closeNow");
  }
  return false;
}
