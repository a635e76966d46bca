/**
 * Agent files made ahead of need, off the event loop. Creating a file is the dearest thing a new agent
 * does to the file system: on ext4 the kernel spends 50–700 µs of CPU finding a free inode (more right
 * after many files were deleted, as SQLite deletes every -wal at every close), where a rename costs
 * ~20 µs. So once a thread creates agents in a burst, a maker thread (file-maker.ts) keeps new
 * database files (the template's bytes with this boot's stamp) and empty -wal files ready in
 * `<agents>/.pool/<pid>.<thread>.<n>/`, and a new agent renames them into place
 * (docs/decisions/0024-file-pool.md).
 *
 * Only for files written without fsync (relaxed durability): a pooled database is byte for byte what
 * `createAgentFile` would write, and it is listed as unsettled when it is taken. A pool that fails (a
 * full disk, its folder removed) is dropped, and files are made on the spot as before.
 */
import { existsSync, linkSync, mkdirSync, readdirSync, renameSync, rmSync, truncateSync, unlinkSync } from "node:fs";
import { rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { threadId, Worker } from "node:worker_threads";
import { countersOf, heldFile, heldFolder, pooledFile, RETURN_RING, returnSlot, SLOT, SLOT_COUNT, type FileMakerData, type PoolKind } from "./file-maker-slots.ts";
import { isLiveProcess } from "./unsettled-log.ts";

const POOL_DIR = ".pool";
/** Files of each kind the maker keeps ready. */
const READY = 32;
/** New files within one second that start a folder's pool: a few agents are made on the spot, a burst is not. */
const BURST = 16;

const MAKER_URL = new URL(import.meta.url.endsWith(".ts") ? "./file-maker.ts" : "./file-maker.js", import.meta.url);

class FilePool {
  readonly stamp: number;
  readonly #dir: string;
  #held = 0;
  readonly #slots: Int32Array;
  readonly #maker: Worker;
  readonly #exited: Promise<void>;

  constructor(dir: string, stamp: number, database: Buffer) {
    this.#dir = dir;
    this.stamp = stamp;
    mkdirSync(heldFolder(dir));
    const shared = new SharedArrayBuffer(SLOT_COUNT * Int32Array.BYTES_PER_ELEMENT);
    this.#slots = new Int32Array(shared);
    const data: FileMakerData = { dir, database, target: READY, shared };
    // No loaders from the parent (`--import tsx`): the maker is plain code Node runs or strips itself.
    this.#maker = new Worker(MAKER_URL, { workerData: data, execArgv: [] });
    this.#maker.unref();
    this.#exited = new Promise((resolve) => this.#maker.once("exit", () => resolve()));
    this.#maker.once("error", () => Atomics.store(this.#slots, SLOT.failed, 1));
  }

  /** True once the maker failed: the pool is dropped and files are made on the spot. */
  get failed(): boolean {
    return Atomics.load(this.#slots, SLOT.failed) !== 0;
  }

  /** The path of the next made file of `kind`; undefined when none is ready. {@link moved} once it is moved away. */
  next(kind: PoolKind): string | undefined {
    const { made, taken } = countersOf(kind);
    const next = Atomics.load(this.#slots, taken);
    return next < Atomics.load(this.#slots, made) ? pooledFile(this.#dir, kind, next) : undefined;
  }

  /**
   * The file {@link next} gave is gone from the pool. The maker is woken only when it has work: fewer
   * than its target of this kind left. It sleeps while it has that many, and waking a sleeping thread
   * at every take (a futex wake and a context switch each, most finding nothing to do) was ~4 % of the
   * event loop while agents were made one after another.
   */
  moved(kind: PoolKind): void {
    Atomics.add(this.#slots, countersOf(kind).taken, 1);
    if (this.#left(kind) < READY) this.#wakeMaker();
  }

  /** A new second name for an open database's -wal ({@link holdWal}). */
  hold(): HeldWal {
    const index = this.#held++;
    return { file: heldFile(this.#dir, index), index, pool: this };
  }

  /** Whether the maker runs and has room to take back one more held file. */
  get canTakeBack(): boolean {
    const s = this.#slots;
    return Atomics.load(s, SLOT.stop) === 0 && !this.failed && Atomics.load(s, SLOT.returned) - Atomics.load(s, SLOT.reused) < RETURN_RING;
  }

  /**
   * Hands a held file no database uses any more to the maker, which empties it and pools it again.
   * Without waking it: the take of a pooled -wal that goes with every hand-back wakes it when it has
   * -wal files to make (it then empties what came back and reuses it), and it looks at least once a
   * second anyway.
   */
  takeBack(held: HeldWal): void {
    const n = Atomics.load(this.#slots, SLOT.returned);
    Atomics.store(this.#slots, returnSlot(n), held.index);
    Atomics.store(this.#slots, SLOT.returned, n + 1);
  }

  #wakeMaker(): void {
    Atomics.add(this.#slots, SLOT.wake, 1);
    Atomics.notify(this.#slots, SLOT.wake);
  }

  /** Made and not yet taken, by kind. */
  get ready(): { db: number; wal: number } {
    return { db: this.#left("db"), wal: this.#left("wal") };
  }

  /** Files of `kind` made and not yet taken. */
  #left(kind: PoolKind): number {
    const { made, taken } = countersOf(kind);
    return Atomics.load(this.#slots, made) - Atomics.load(this.#slots, taken);
  }

  /** Stops the maker, waits for it, removes the pool's folder. */
  async close(): Promise<void> {
    Atomics.store(this.#slots, SLOT.stop, 1);
    Atomics.notify(this.#slots, SLOT.wake);
    this.#maker.ref(); // unref'd while it serves; a close awaited as the last thing a program does must see it end
    await this.#exited;
    await rm(this.#dir, { recursive: true, force: true });
  }
}

/** This thread's pools, by agents folder. */
const pools = new Map<string, FilePool>();
/** New files made on the spot per folder within a second of the first of them: a burst starts the folder's pool. */
const recent = new Map<string, { since: number; count: number }>();
let poolSerial = 0;

/**
 * Moves a pooled new database to `path`: first an empty -wal over any left at the path (a destroyed
 * agent's, which must never be replayed into the new file), then the database. False when there is
 * no pool or nothing ready; the caller then writes the file itself (a burst of those starts a pool).
 * @example if (!takePooledDatabase(folder, path, stamp, stampedTemplate)) writeTheFile(path);
 */
export function takePooledDatabase(agentsFolder: string, path: string, stamp: number, database: (stamp: number) => Buffer): boolean {
  const pool = usable(agentsFolder);
  if (pool === undefined) {
    madeOnTheSpot(agentsFolder, stamp, database);
    return false;
  }
  const wal = pool.next("wal");
  const db = pool.next("db");
  if (pool.stamp !== stamp || wal === undefined || db === undefined) return false;
  try {
    renameSync(wal, `${path}-wal`);
    pool.moved("wal");
    renameSync(db, path);
    pool.moved("db");
    return true;
  } catch {
    dropPool(agentsFolder, pool);
    return false;
  }
}

/**
 * A file was made on the spot in `agentsFolder` (a new database, or the empty -wal a close leaves): a
 * burst of those starts the folder's pool. A server restarted on existing agents creates no new
 * databases, but each close of an agent opened before a pool existed makes a -wal.
 * @example if (!takePooledWal(folder, path)) { makeTheWal(path); madeOnTheSpot(folder, stamp, stampedTemplate); }
 */
export function madeOnTheSpot(agentsFolder: string, stamp: number, database: (stamp: number) => Buffer): void {
  if (!pools.has(agentsFolder) && isBurst(agentsFolder)) startPool(agentsFolder, stamp, database(stamp));
}

/**
 * Gives `path` (a database just closed) a pooled empty -wal, unless it has one: a -wal SQLite kept
 * is never replaced (a hard link fails where the name exists). False when the folder has no pool or
 * none is ready.
 */
export function takePooledWal(agentsFolder: string, path: string): boolean {
  const pool = usable(agentsFolder);
  const wal = pool?.next("wal");
  if (pool === undefined || wal === undefined) return false;
  try {
    linkSync(wal, `${path}-wal`);
    unlinkSync(wal); // the inode lives on under the agent's name: nothing is freed
    pool.moved("wal");
    return true;
  } catch (error) {
    // EEXIST: the database kept its -wal (SQLite could not checkpoint it), which stays as it is. Any
    // other failure (a file system without hard links) leaves the caller to make the -wal; the pool
    // still serves new databases, whose failures drop it.
    return (error as NodeJS.ErrnoException).code === "EEXIST";
  }
}

/** An open database's -wal under a second name in a pool's `held/` folder. */
export interface HeldWal {
  readonly file: string;
  readonly index: number;
  readonly pool: FilePool;
}

/**
 * Gives the -wal of a database just opened a second name in the folder's pool, so SQLite's delete at
 * close frees no inode ({@link returnHeldWal}): no file is freed or created per close. Undefined
 * without a pool.
 */
export function holdWal(agentsFolder: string, path: string): HeldWal | undefined {
  const pool = usable(agentsFolder);
  if (pool === undefined) return undefined;
  const held = pool.hold();
  try {
    linkSync(`${path}-wal`, held.file);
    return held;
  } catch {
    return undefined; // no -wal to hold (SQLite makes it at the first read): the close makes one as before
  }
}

/**
 * After its database closed. A -wal SQLite kept (a checkpoint that could not finish) is the held file
 * with frames still to replay: it stays as it is and only the held name goes. When SQLite deleted the
 * -wal (after a complete checkpoint, so its frames are all in the database), the database gets an
 * empty -wal from the pool and the held file goes back to the maker, which empties it on its own
 * thread: emptying a file that was synced frees its blocks (~70 µs alone on ext4 mounted with
 * `discard`, more under load), the dearest step of a close. Without a ready -wal or room in the maker's ring, the held file is
 * emptied here and linked back. False when that failed (the caller then makes an empty -wal itself).
 */
export function returnHeldWal(held: HeldWal, path: string): boolean {
  const wal = `${path}-wal`;
  try {
    if (existsSync(wal)) {
      unlinkSync(held.file);
      return true;
    }
    const pool = held.pool;
    const ready = pool.canTakeBack ? pool.next("wal") : undefined;
    if (ready !== undefined) {
      renameSync(ready, wal); // no -wal at the path, checked above: the database's thread alone makes one
      pool.takeBack(held); // before the take wakes the maker: the batch it then makes reuses this file
      pool.moved("wal");
      return true;
    }
    truncateSync(held.file, 0);
    linkSync(held.file, wal);
    unlinkSync(held.file);
    return true;
  } catch {
    rmSync(held.file, { force: true });
    return false;
  }
}

/** Stops the pool of `<dataDir>/agents`, if any, and removes its files (the host closes). */
export async function closeFilePool(dataDir: string): Promise<void> {
  const folder = join(dataDir, "agents");
  recent.delete(folder);
  const pool = pools.get(folder);
  if (pool === undefined) return;
  pools.delete(folder);
  await pool.close();
}

/** The agents folders this thread keeps a pool for (tests). */
export function pooledFolders(): string[] {
  return [...pools.keys()];
}

/** How many files of each kind a folder's pool holds ready to take (tests); undefined without a pool. */
export function pooledReady(agentsFolder: string): { db: number; wal: number } | undefined {
  return pools.get(agentsFolder)?.ready;
}

/** A window from the first file on, not the clock's whole seconds: a burst across a second's edge is one burst. */
function isBurst(agentsFolder: string): boolean {
  const now = performance.now();
  const seen = recent.get(agentsFolder);
  if (seen === undefined || now - seen.since >= 1000) {
    recent.set(agentsFolder, { since: now, count: 1 });
    return false;
  }
  return ++seen.count >= BURST;
}

/** Starts a folder's pool; not for files outside the usual layout (tests, tools), made where they are. */
function startPool(agentsFolder: string, stamp: number, database: Buffer): void {
  if (basename(agentsFolder) !== "agents" || !existsSync(agentsFolder)) return;
  const root = join(agentsFolder, POOL_DIR);
  removeLeftPools(root);
  const dir = join(root, `${process.pid}.${threadId}.${poolSerial++}`);
  try {
    mkdirSync(dir, { recursive: true });
    pools.set(agentsFolder, new FilePool(dir, stamp, database));
  } catch {
    // No folder or no thread for it: files are made on the spot, as without a pool.
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The folder's pool, unless it failed (then it is dropped: a later burst starts another). */
function usable(agentsFolder: string): FilePool | undefined {
  const pool = pools.get(agentsFolder);
  if (pool === undefined || !pool.failed) return pool;
  dropPool(agentsFolder, pool);
  return undefined;
}

function dropPool(agentsFolder: string, pool: FilePool): void {
  if (pools.get(agentsFolder) === pool) pools.delete(agentsFolder);
  void pool.close().catch(() => {});
}

/** Pools of processes that are gone (killed before they removed theirs): stale files, removed in the background. */
function removeLeftPools(root: string): void {
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    if (!isLiveProcess(Number(name.split(".")[0]))) void rm(join(root, name), { recursive: true, force: true }).catch(() => {});
  }
}
