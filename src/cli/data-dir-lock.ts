import { mkdirSync, statSync, type Stats } from "node:fs";
import { join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { readHeaderInt } from "../storage/file-stamp.ts";
import { CliError } from "./errors.ts";

/** The file whose lock says a Hearth process serves the data directory; its header holds that process's pid. */
const LOCK_FILE = "hearth.lock";
/** Where SQLite keeps `PRAGMA user_version` in a file's header: the pid of the process holding the lock. */
const PID_OFFSET = 60;

const held = new Map<string, { db: DatabaseSync; users: number }>();

/**
 * Takes the data directory for this process, before anything in it is touched (the shards' layout
 * first of all, which a change of `--threads` removes): a second Hearth started on a directory a
 * running one serves is refused here, whatever its thread count, with the pid of the one that has it.
 * The lock is SQLite's exclusive lock on `<dataDir>/hearth.lock`, which the system drops when the
 * process ends, however it ends; the threads of one process share it. Returns what lets it go.
 *
 * @throws {CliError} `startup` when another process holds the directory, or it cannot be made or written.
 * @example const release = lockDataDir(".hearth"); try { serve(); } finally { release(); }
 */
export function lockDataDir(dataDir: string): () => void {
  const dir = resolve(dataDir);
  let lock = held.get(dir);
  if (lock === undefined) {
    lock = { db: takeLock(dir), users: 0 };
    held.set(dir, lock);
  }
  const taken = lock;
  taken.users++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--taken.users > 0) return;
    held.delete(dir);
    taken.db.close();
  };
}

function takeLock(dir: string): DatabaseSync {
  const path = join(dir, LOCK_FILE);
  let db: DatabaseSync;
  try {
    mkdirSync(dir, { recursive: true });
    db = new DatabaseSync(path, { timeout: 0 });
  } catch (error) {
    throw unusableDataDir(dir, error);
  }
  try {
    // The write takes the exclusive lock and, in this locking mode, keeps it until the close.
    db.exec(`PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA user_version = ${process.pid}`);
    return db;
  } catch (error) {
    db.close();
    if (!/locked|busy/i.test(error instanceof Error ? error.message : String(error))) throw unusableDataDir(dir, error);
    const pid = ownerOf(path);
    throw new CliError(
      "startup",
      `${dir} is in use by another Hearth process${pid === undefined ? "" : ` (pid ${pid})`}: stop it first, or give this one another --data directory`,
      { cause: error },
    );
  }
}

/** What the system's refusals mean for a data directory. */
const REASONS: Readonly<Record<string, string>> = {
  EACCES: "permission denied",
  EPERM: "permission denied",
  EROFS: "the file system is read-only",
  ENOSPC: "no space left on the device",
};

/** Why the data directory cannot be used, in one line: a file where it should be, no permission, a read-only disk … */
function unusableDataDir(dir: string, error: unknown): CliError {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  let reason: string;
  if (code === "EEXIST" || code === "ENOTDIR") {
    reason = statOf(dir)?.isDirectory() === false ? "it is a file, not a directory" : "a part of its path is a file, not a directory";
  } else if (code !== undefined && REASONS[code] !== undefined) reason = REASONS[code];
  else reason = error instanceof Error ? error.message : String(error);
  const suffix = code !== undefined && /^E[A-Z]+$/.test(code) && !reason.includes(code) ? ` (${code})` : "";
  return new CliError("startup", `cannot use data directory ${dir}: ${reason}${suffix}`, { cause: error });
}

function statOf(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** The pid the lock's holder wrote in its header (read without SQLite, which the lock keeps out). */
function ownerOf(path: string): number | undefined {
  try {
    const pid = readHeaderInt(path, PID_OFFSET);
    return pid !== undefined && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
