import { existsSync, mkdirSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { LIMITS, type Durability } from "../limits.ts";
import { SCHEMA_SQL, SCHEMA_VERSION, createAgentFile } from "./agent-file-setup.ts";
import { readStamp, settlingMarkerOf } from "./file-stamp.ts";
import { letGoOfLeftover } from "./settle.ts";
import { listUnsettled } from "./unsettled-log.ts";

const knownDirs = new Set<string>();

/**
 * No ATTACH (nor VACUUM, which attaches): an agent's SQL reaches its own file only, never a sibling
 * facet's or its parent's by path.
 */
const OPEN_OPTIONS = { enableForeignKeyConstraints: true, limits: { attach: 0 } } as const;

export interface AgentFileOptions {
  path: string;
  durability: Durability;
  /** Stored in the file and checked on every open: a hash collision or a moved file fails loudly. */
  identity: string;
  /** This boot's stamp (see `currentBootStamp`); 0 creates every new file durable at once. */
  bootStamp: number;
  /** May run as a quiet session (relaxed durability only; see {@link OpenedAgentFile.quiet}). */
  allowQuiet?: boolean;
  /** A file this open makes gets its identity from the caller ({@link OpenedAgentFile.identityToWrite}), not at once. */
  deferIdentity?: boolean;
}

/**
 * An open agent file. `unsettled`: written without fsync since its creation, in this boot;
 * `created`: made by this open.
 */
export interface OpenedAgentFile {
  db: DatabaseSync;
  unsettled: boolean;
  created: boolean;
  /**
   * A quiet session: a settled file opened with an empty WAL runs without fsync and without automatic
   * checkpoints, so its WAL only grows and the database file is not written until the connection
   * closes in order (quiet-close.ts) or is hardened (`PRAGMA synchronous = NORMAL`, checkpoints
   * again). docs/decisions/0022-quiet-sessions.md says why that keeps the file intact.
   */
  quiet: boolean;
  /**
   * The identity row a file made by this open still needs (`deferIdentity`): the caller writes it with
   * its first transaction ({@link IDENTITY_SQL}). Until then the file is the template and the next open claims it.
   */
  identityToWrite: string | undefined;
}

/** Writes a file's identity row (bound to the identity). */
export const IDENTITY_SQL = "INSERT INTO _hearth_meta (key, value) VALUES ('identity', ?)";

/**
 * Opens an agent's file, creating it from the template when there is none. Exclusive locking: one
 * process owns an agent's file (a second host on the same data dir gets a clear error instead of
 * silently sharing), and WAL needs no shared-memory file.
 *
 * A file still stamped by an earlier boot was written without fsync and never settled before the
 * machine went down: it may be torn, so it is deleted and the agent starts empty — what relaxed
 * durability allows (the last writes lost, the database intact; docs/decisions/0016-agent-files.md).
 */
export function openAgentFile(options: AgentFileOptions): OpenedAgentFile {
  const { path, durability, bootStamp } = options;
  letGoOfLeftover(path);
  const created = !existsSync(path);
  if (created) ensureDirectory(path); // an existing file's folder exists: one stat per wake, not two
  // Read before SQLite opens the WAL: a quiet session needs one with no frames in it.
  const emptyWal = !created && options.allowQuiet === true && durability === "relaxed" && (statSync(`${path}-wal`, { throwIfNoEntry: false })?.size ?? 0) === 0;
  if (created) createAgentFile(path, durability === "strict" ? 0 : bootStamp);
  let db = openDatabase(path);
  let header: FileHeader;
  try {
    // A file this open just made is the template with a known header: reading it back is a statement
    // over two pragmas, the dearest part of a new agent's open after SQLite's own.
    header = lockAndRead(db, created ? { stamp: durability === "strict" ? 0 : bootStamp, version: SCHEMA_VERSION, identity: undefined } : undefined);
  } catch (error) {
    db.close();
    const stamp = readStampOrUndefined(path);
    if (!isLocked(error)) {
      if (!isStale(stamp, bootStamp)) throw describeOpenError(error, path);
      return reopenEmpty(options, "cannot be read");
    }
    // Locked while another thread of this process settles it, a killed process's file (settle.ts):
    // that takes moments, so wait for it (its stamp may be cleared already). Otherwise one more try at
    // once (the settle may have just ended), and any other lock is refused.
    const settling = existsSync(settlingMarkerOf(path));
    if (!settling && (stamp === undefined || stamp === 0)) throw describeOpenError(error, path);
    db = openDatabase(path, settling ? LIMITS.unsettledFileLockWaitMs : 0);
    try {
      header = lockAndRead(db, undefined);
      db.exec("PRAGMA busy_timeout = 0");
    } catch (again) {
      db.close();
      throw describeOpenError(again, path);
    }
  }
  if (isStale(header.stamp, bootStamp)) {
    db.close();
    return reopenEmpty(options, "may be torn");
  }
  try {
    let unsettled = header.stamp !== 0;
    if (unsettled && durability === "strict") {
      settleInPlace(db);
      unsettled = false;
    }
    // Not made by this open (a killed process's, say): listed in this thread's log while it is open
    // unsettled, so that a crash now leaves it to the next process to settle (unsettled-log.ts).
    if (unsettled && !created) listUnsettled(path);
    // Not for a file that needs its identity or schema written (the template's first open, an old file).
    const quiet = emptyWal && !unsettled && header.version === SCHEMA_VERSION && typeof header.identity === "string";
    db.exec(quiet ? QUIET_PRAGMAS : unsettled ? UNSETTLED_PRAGMAS : `PRAGMA synchronous = ${durability === "strict" ? "FULL" : "NORMAL"}`);
    const deferred = created && options.deferIdentity === true;
    migrate(db, header, deferred ? undefined : options.identity);
    return { db, unsettled, created, quiet, identityToWrite: deferred ? options.identity : undefined };
  } catch (error) {
    db.close();
    throw describeOpenError(error, path);
  }
}

/**
 * A file written without fsync since its creation in this boot checkpoints every 64 WAL pages, not
 * SQLite's 1,000: with no fsync a checkpoint is cheap, and with small commits the WAL then stays a few
 * hundred KB that are written over again instead of growing to 4 MB per agent (a large transaction
 * still grows it, until the close). A thousand busy agents otherwise keep
 * gigabytes of WAL pages dirty, and their closes (the checkpoint, emptying the -wal) stall on the disk
 * for tens of milliseconds each.
 */
const UNSETTLED_PRAGMAS = "PRAGMA synchronous = OFF; PRAGMA wal_autocheckpoint = 64";
const QUIET_PRAGMAS = "PRAGMA synchronous = OFF; PRAGMA wal_autocheckpoint = 0";
/** What a quiet session becomes when it must checkpoint while open: SQLite's own ordering, with its syncs. */
export const HARDEN_PRAGMAS = "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 1000";

function openDatabase(path: string, waitForLockMs?: number): DatabaseSync {
  try {
    return new DatabaseSync(path, waitForLockMs === undefined ? OPEN_OPTIONS : { ...OPEN_OPTIONS, timeout: waitForLockMs });
  } catch (error) {
    throw describeOpenError(error, path);
  }
}

/** Takes the exclusive lock (the first read does) and reads the header; `known`: a file just made, not read back. */
function lockAndRead(db: DatabaseSync, known: FileHeader | undefined): FileHeader {
  db.exec("PRAGMA locking_mode = EXCLUSIVE");
  return known ?? readHeader(db);
}

interface FileHeader {
  stamp: number;
  version: number;
  /** The identity row; undefined when there is none, null when the file has no Hearth tables yet. */
  identity: string | undefined | null;
}

/** Everything an open checks, in one statement (the first read, which takes the exclusive lock). */
function readHeader(db: DatabaseSync): FileHeader {
  try {
    const row = db.prepare(`${HEADER}, (SELECT value FROM _hearth_meta WHERE key = 'identity') AS identity`).get() as unknown as RawHeader;
    return { stamp: Number(row.stamp), version: Number(row.version), identity: row.identity ?? undefined };
  } catch (error) {
    if (!/no such table/i.test(error instanceof Error ? error.message : String(error))) throw error;
    // No Hearth tables yet (an empty file not made from the template).
    const row = db.prepare(HEADER).get() as unknown as RawHeader;
    return { stamp: Number(row.stamp), version: Number(row.version), identity: null };
  }
}

const HEADER = "SELECT (SELECT application_id FROM pragma_application_id) AS stamp, (SELECT user_version FROM pragma_user_version) AS version";
interface RawHeader {
  stamp: number;
  version: number;
  identity?: string | null;
}

/** Stamped, but not by this boot: written without fsync before a reboot. */
function isStale(stamp: number | undefined, bootStamp: number): boolean {
  return stamp !== undefined && stamp !== 0 && stamp !== bootStamp;
}

function readStampOrUndefined(path: string): number | undefined {
  try {
    return readStamp(path);
  } catch {
    return undefined;
  }
}

function reopenEmpty(options: AgentFileOptions, why: string): OpenedAgentFile {
  console.warn(`[hearth] ${options.path} was written without fsync before the machine restarted and ${why}: the agent starts empty`);
  rmSync(options.path, { force: true });
  rmSync(`${options.path}-wal`, { force: true });
  return openAgentFile(options);
}

/**
 * Strict durability opening a file written unsynced earlier in this boot (relaxed before): checkpoint
 * with fsyncs, then clear the stamp in a synced commit, before any strict write is acknowledged.
 */
function settleInPlace(db: DatabaseSync): void {
  db.exec("PRAGMA synchronous = FULL; PRAGMA wal_checkpoint(TRUNCATE); PRAGMA application_id = 0; PRAGMA wal_checkpoint(TRUNCATE);");
}

/** Brings Hearth's tables up to date and checks the identity; writes it when the file has none (`identity` undefined: the caller does). */
function migrate(db: DatabaseSync, header: FileHeader, identity: string | undefined): void {
  if (header.version === 0) {
    // An empty file not made from the template (an older Hearth left it, or it was made elsewhere).
    db.exec(`PRAGMA journal_mode = WAL; BEGIN; ${SCHEMA_SQL} PRAGMA user_version = ${SCHEMA_VERSION}; COMMIT;`);
  } else if (header.version > SCHEMA_VERSION) {
    throw new Error(`was written by a newer Hearth (schema ${header.version}, this one knows ${SCHEMA_VERSION})`);
  }
  if (identity === undefined) return;
  const stored = header.identity ?? undefined;
  // A file from the template gets its identity at its first open (or with its first transaction);
  // lost with the writes after it, the file is the template again and is claimed again.
  if (stored === undefined) db.prepare(IDENTITY_SQL).run(identity);
  else if (stored !== identity) {
    throw new Error(`belongs to another agent (${JSON.stringify(stored)}), not ${JSON.stringify(identity)}`);
  }
}

/** Creates the file's directory the first time one is used, and again if it was deleted since. */
function ensureDirectory(path: string): void {
  const dir = dirname(path);
  if (knownDirs.has(dir) && existsSync(dir)) return;
  mkdirSync(dir, { recursive: true });
  knownDirs.add(dir);
}

function isLocked(error: unknown): boolean {
  return /locked|busy/i.test(error instanceof Error ? error.message : String(error));
}

function describeOpenError(error: unknown, path: string): Error {
  const message = error instanceof Error ? error.message : String(error);
  if (isLocked(error)) {
    return new Error(
      `Agent database ${path} is locked by another process. Is a second Hearth running on the same data directory?`,
      { cause: error },
    );
  }
  return new Error(`Cannot open agent database ${path}: ${message}`, { cause: error });
}
