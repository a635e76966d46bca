import { closeSync, existsSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { open, type FileHandle } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { clearTimeout, setImmediate, setTimeout } from "node:timers"; // process-wide: never an actor's timer (host/actor-timers.ts), nor an application's fake one
import { waitAtMost } from "../time/wait-at-most.ts";
import { STAMP_OFFSET, settlingMarkerOf } from "./file-stamp.ts";
import { syncFileSystems } from "./syncfs.ts";
import { agentsFolderOf, clearUnsettledLogs, whenLogsTakenOver } from "./unsettled-log.ts";

/** Closed files gathered for one batch: one file-system sync covers all of them. */
const BATCH_DELAY_MS = 200;
/** A batch this long starts at once. */
const BATCH_MAX = 5_000;
/** Files whose stamps are cleared between two turns of the event loop. */
const CLEAR_CHUNK = 256;
const ZERO = Buffer.alloc(4);

/** Files open in this process (by absolute path): one being woken again must not be settled under it. */
const openFiles = new Set<string>();
/** Open files written without fsync: the unsettled logs are kept while any is. */
const openUnsettled = new Set<string>();
const queue: string[] = [];
const queued = new Set<string>();
/** Queued files opened since they were queued: their settle must not clear the stamp. */
const reopened = new Set<string>();
/**
 * Queued files an earlier process left (it was killed), with the stamp they are settled for: each is
 * held under its lock from before the first sync until its stamp is cleared (see {@link holdLeftovers}).
 */
const leftovers = new Map<string, number>();
/** Leftovers held in one batch at most: each holds a connection until its stamp is cleared. */
const LEFTOVER_BATCH = 128;
/** The connections holding the leftovers of the batch that runs, by file. */
const held = new Map<string, DatabaseSync>();
/** Queued files closed again while their settle ran: queued once more when it ends. */
const again = new Set<string>();
let running = false;
let timer: ReturnType<typeof setTimeout> | undefined;
let idle: { promise: Promise<void>; resolve: () => void } | undefined;

/** An agent file was opened: a settle of it in progress gives up (it is retried at its next close). */
export function fileOpened(path: string, unsettled: boolean): void {
  const key = resolve(path);
  openFiles.add(key);
  if (unsettled) openUnsettled.add(key);
  if (queued.has(key)) reopened.add(key);
}

/** An agent file was closed; `unsettled`: it was written without fsync and still carries its stamp. */
export function fileClosed(path: string, unsettled: boolean): void {
  const key = resolve(path);
  openFiles.delete(key);
  openUnsettled.delete(key);
  for (const file of closeLater.get(key) ?? []) void file.close();
  closeLater.delete(key);
  if (!unsettled) return;
  if (queued.has(key)) {
    again.add(key);
    return;
  }
  queued.add(key);
  queue.push(key);
  pump();
}

/**
 * Settles files an earlier process left unsettled (from its log) that carry `stamp`, this boot's:
 * one stamped by an earlier boot was written without fsync before the machine went down and may be
 * torn, so it stays stamped and its next open treats it as empty (connection.ts). Resolves when the
 * files are done.
 */
export function settleLeftovers(files: string[], stamp: number): Promise<void> {
  for (const file of files) {
    const key = resolve(file);
    // A file open here is listed in this thread's log (its open wrote it there) and settled at its close.
    if (openFiles.has(key) || queued.has(key)) continue;
    leftovers.set(key, stamp);
    queued.add(key);
    queue.push(key);
  }
  pump();
  return whenQueueSettled();
}

/**
 * This thread is about to open `path`: a leftover the settle holds is let go at once (and keeps its
 * stamp, settled at the file's close), instead of the open waiting for a lock its own thread holds.
 */
export function letGoOfLeftover(path: string): void {
  if (held.size === 0) return;
  const key = resolve(path);
  if (!held.has(key)) return;
  reopened.add(key);
  release(key);
}

/**
 * A killed process's leftover may be open in another thread of this process (the thread that took
 * its log over settles files of agents other threads own), whose connection writes without fsync
 * while it carries the stamp: it must not be settled under it. So each leftover of `batch` is held
 * under its exclusive lock, taken through SQLite (which knows this process's other connections; a
 * descriptor opened and closed beside them would drop their locks), from before the first sync until
 * its stamp is cleared: one held elsewhere is skipped (its opener lists it in its own log and settles
 * it at its close), one that no longer carries `stamp` too. While it is held its
 * `<file>-settling` mark makes an open in another thread wait for the lock instead of failing.
 *
 * A file a killed process had open may also keep its newest pages in its -wal, the header page among
 * them with the stamp in it: a stamp cleared in the database file alone would leave that copy to be
 * read at the next open, and after a reboot the file would be taken for torn. So the -wal is moved
 * into the file first (SQLite's checkpoint, which also empties it), before the sync that makes it
 * durable; the stamp the settle clears is then the only one. Returns the leftovers not held: they
 * stay as they are.
 */
async function holdLeftovers(batch: string[]): Promise<Set<string>> {
  const skipped = new Set<string>();
  const due = batch.filter((path) => leftovers.has(path));
  for (let k = 0; k < due.length; k += CLEAR_CHUNK) {
    for (const path of due.slice(k, k + CLEAR_CHUNK)) {
      // Opened here meanwhile: its connection replays the -wal, and its close settles it.
      if (openFiles.has(path) || reopened.has(path) || !hold(path, leftovers.get(path)!)) skipped.add(path);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  return skipped;
}

function hold(path: string, stamp: number): boolean {
  if (!existsSync(path)) return false;
  const marker = settlingMarkerOf(path);
  let db: DatabaseSync | undefined;
  try {
    closeSync(openSync(marker, "w"));
    db = new DatabaseSync(path, { timeout: 0 });
    // As the runtime opens agent files: the WAL index in memory, no -shm file; the first read locks.
    db.exec("PRAGMA locking_mode = EXCLUSIVE");
    const { stamp: found } = db.prepare("SELECT application_id AS stamp FROM pragma_application_id").get() as { stamp: number };
    if (found !== stamp) throw new Skipped();
    if ((statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0) > 0) db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    held.set(path, db);
    return true;
  } catch (error) {
    db?.close();
    rmSync(marker, { force: true });
    if (!(error instanceof Skipped) && !/locked|busy/i.test(String(error))) {
      console.error(`[hearth] could not settle ${path} after a crash; it stays unsettled:`, error);
    }
    return false;
  }
}

class Skipped extends Error {}

function release(path: string): void {
  const db = held.get(path);
  if (db === undefined) return;
  held.delete(path);
  try {
    db.close();
  } finally {
    rmSync(settlingMarkerOf(path), { force: true });
  }
}

/**
 * Resolves when every file queued so far is settled (or given up because it was opened again), and
 * what the logs of killed processes taken over so far list.
 * @example
 * await whenFilesSettled(); // after host.close(): every hibernated agent's file is durable
 */
export async function whenFilesSettled(): Promise<void> {
  await whenLogsTakenOver();
  await whenQueueSettled();
}

function whenQueueSettled(): Promise<void> {
  if (!running && timer === undefined && queue.length === 0) return Promise.resolve();
  if (idle === undefined) {
    let done!: () => void;
    idle = { promise: new Promise<void>((r) => (done = r)), resolve: done };
  }
  return idle.promise;
}

/**
 * Starts settling every file queued so far now, without waiting to gather more, and resolves once
 * they are settled or `withinMs` has passed, whichever comes first (what is left then is settled by
 * the next process on the data dir, as after a crash).
 * @example
 * await settleQueuedFiles(10_000); // a host closing: its files are durable before the process exits
 */
export async function settleQueuedFiles(withinMs: number): Promise<void> {
  const startNow = (): void => {
    if (timer === undefined) return;
    clearTimeout(timer);
    timer = undefined;
    void runBatch();
  };
  startNow();
  // Files a killed process left, which a takeover is still reading from its logs, are settled too.
  void whenLogsTakenOver().then(startNow);
  await waitAtMost(whenFilesSettled(), withinMs);
}

/** Files waiting to be settled or being settled now. */
export function unsettledCount(): number {
  return queued.size;
}

function pump(): void {
  if (running || timer !== undefined || queue.length === 0) return;
  timer = setTimeout(() => void runBatch(), queue.length >= BATCH_MAX || leftovers.size > 0 ? 0 : BATCH_DELAY_MS);
}

/** The queue's files, but no more leftovers than {@link LEFTOVER_BATCH}: the rest wait for the next batch. */
function takeBatch(): string[] {
  if (leftovers.size <= LEFTOVER_BATCH) return queue.splice(0);
  let count = 0;
  let end = 0;
  for (; end < queue.length; end++) if (leftovers.has(queue[end]!) && ++count > LEFTOVER_BATCH) break;
  return queue.splice(0, end);
}

/**
 * Settles every queued file (a killed process's leftovers are held and get their -wal moved in first): one
 * file-system sync makes their pages and directory entries durable,
 * then each stamp is cleared (on this thread, right after checking the file is not open again), and
 * a second sync makes the cleared stamps durable. Two journal commits for a whole batch, instead of
 * three fsyncs per file that would stall the main thread's file creations behind them.
 */
async function runBatch(): Promise<void> {
  timer = undefined;
  running = true;
  const batch = takeBatch();
  try {
    const folders = [...new Set(batch.map(agentsFolderOf))];
    const keepStamped = await holdLeftovers(batch);
    if (await syncPresent(folders)) {
      for (let k = 0; k < batch.length; k += CLEAR_CHUNK) {
        for (const path of batch.slice(k, k + CLEAR_CHUNK)) if (!keepStamped.has(path)) clearStamp(path);
        await new Promise((resolve) => setImmediate(resolve));
      }
      for (const path of [...held.keys()]) release(path);
      if (!(await syncPresent(folders))) throw new Error("sync -f failed after the stamps were cleared");
    } else {
      for (const path of batch) if (!keepStamped.has(path)) await settleFile(path).catch(reportUnsettled(path));
    }
  } catch (error) {
    console.error(`[hearth] could not make ${batch.length} agent files durable:`, error);
  } finally {
    for (const path of [...held.keys()]) release(path);
    for (const path of batch) {
      queued.delete(path);
      leftovers.delete(path);
      reopened.delete(path);
      if (again.delete(path)) {
        queued.add(path);
        queue.push(path);
      }
    }
    running = false;
    pump();
    if (queue.length === 0) {
      if (openUnsettled.size === 0) clearUnsettledLogs();
      idle?.resolve();
      idle = undefined;
    }
  }
}

function reportUnsettled(path: string): (error: unknown) => void {
  return (error) => {
    // Gone (destroyed, data dir removed) needs nothing; anything else: it stays stamped, and a
    // reboot before its next close would make it read as empty.
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") console.error(`[hearth] could not make ${path} durable:`, error);
  };
}

/**
 * Syncs the file systems of the folders that still exist: files in a removed folder (a data directory
 * deleted right after its host closed) are gone and need nothing. A sync that failed while a folder
 * was being removed is tried once more with the folders left.
 */
async function syncPresent(folders: string[]): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    const present = folders.filter((folder) => existsSync(folder));
    if (await syncFileSystems(present)) return true;
    if (attempt === 1 || present.every((folder) => existsSync(folder))) return false;
  }
}

/** Clears a settled file's stamp unless it was opened since it was queued. */
function clearStamp(path: string): void {
  if (openFiles.has(path) || reopened.has(path)) return;
  let fd: number;
  try {
    fd = openSync(path, "r+");
  } catch (error) {
    reportUnsettled(path)(error);
    return;
  }
  try {
    writeSync(fd, ZERO, 0, 4, STAMP_OFFSET);
  } finally {
    closeSync(fd);
  }
}

/**
 * Makes one closed, unsettled agent file durable without syncfs: fsync its pages and its directory
 * entry, and only then clear its stamp and fsync again. A file opened again meanwhile is left as it
 * is (still stamped, settled at its next close), because its connection may write pages holding
 * the stamp.
 */
async function settleFile(path: string): Promise<void> {
  if (openFiles.has(path) || reopened.has(path)) return;
  const file = await open(path, "r+");
  try {
    await file.sync();
    await syncDirectory(dirname(path));
    if (openFiles.has(path) || reopened.has(path)) return;
    writeSync(file.fd, ZERO, 0, 4, STAMP_OFFSET); // on this thread: no open can slip in between the check and the write
    await file.sync();
  } finally {
    // Closing a descriptor drops every POSIX lock this process holds on the file: if SQLite opened
    // it again meanwhile, the close waits for SQLite's own close.
    if (openFiles.has(path)) closeLater.set(path, [...(closeLater.get(path) ?? []), file]);
    else await file.close();
  }
}

const closeLater = new Map<string, FileHandle[]>();

const syncedDirs = new Set<string>();

/** fsyncs the directory, and once per process its parents up to the agents folder (made by mkdir). */
async function syncDirectory(dir: string): Promise<void> {
  await fsyncPath(dir);
  if (syncedDirs.has(dir)) return;
  await fsyncPath(dirname(dir));
  await fsyncPath(dirname(dirname(dir)));
  syncedDirs.add(dir);
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
