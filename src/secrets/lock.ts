import { closeSync, fstatSync, openSync, rmSync, statSync, writeSync, type Stats } from "node:fs";
import { SecretStoreError } from "./errors.ts";

/** How long a writer waits for another one before giving up. */
const LOCK_WAIT_MS = 5_000;
/** A lock older than this is left over from a crashed process (a write takes milliseconds). */
const STALE_LOCK_MS = 30_000;
const RETRY_MS = 10;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** What tells one lock file from another put at the same path later: its inode and its modification time. */
export interface LockFileIdentity {
  dev: number;
  ino: number;
  mtimeMs: number;
}

/**
 * Runs `fn` while holding `<path>.lock`, so two processes changing the same secrets file (a `hearth
 * secret put` while another runs) cannot lose each other's change. Synchronous, like the store.
 *
 * @param waitMs how long to wait for another writer (default 5 s).
 * @throws {SecretStoreError} `LOCKED` when another writer holds the lock for longer than `waitMs`.
 * @example
 * withFileLock(".hearth/secrets/default.json", () => rewriteTheFile());
 */
export function withFileLock<T>(path: string, fn: () => T, waitMs: number = LOCK_WAIT_MS): T {
  const lock = `${path}.lock`;
  const deadline = Date.now() + waitMs;
  for (;;) {
    let fd: number;
    try {
      fd = openSync(lock, "wx", 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const stale = staleLockFile(lock);
      if (stale !== undefined && breakStaleLock(lock, stale)) continue;
      if (Date.now() > deadline) {
        throw new SecretStoreError(
          "LOCKED",
          `another process is changing the secrets in ${path} (it holds ${lock}); try again, or delete that file if no hearth secret command is running`,
        );
      }
      // A synchronous pause: the store's API is synchronous, and the wait is short and rare.
      Atomics.wait(sleeper, 0, 0, RETRY_MS);
      continue;
    }
    let held: LockFileIdentity;
    try {
      writeSync(fd, String(process.pid));
      held = identityOf(fstatSync(fd));
    } catch (error) {
      closeSync(fd);
      rmSync(lock, { force: true });
      throw error;
    }
    closeSync(fd);
    try {
      return fn();
    } finally {
      // A writer that ran past STALE_LOCK_MS may have been taken over: the lock there is then another's.
      if (isSameLockFile(lock, held)) rmSync(lock, { force: true });
    }
  }
}

/** The lock file's identity when it is stale (left by a crashed writer); undefined when it is fresh or gone. */
export function staleLockFile(lock: string): LockFileIdentity | undefined {
  const stats = statOrUndefined(lock);
  return stats !== undefined && Date.now() - stats.mtimeMs > STALE_LOCK_MS ? identityOf(stats) : undefined;
}

/**
 * Removes the lock judged stale, if it is still that very file; true when it did. Several waiters may judge the same lock stale: one at a time holds
 * `<lock>.takeover` (created exclusively) and looks again before removing, so a waiter coming late
 * with its old judgment finds the lock another waiter took since, and leaves it.
 */
export function breakStaleLock(lock: string, judged: LockFileIdentity): boolean {
  const guard = `${lock}.takeover`;
  let fd: number;
  try {
    fd = openSync(guard, "wx", 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    // Only a waiter that crashed between creating the guard and removing it leaves an old guard.
    if (staleLockFile(guard) !== undefined) rmSync(guard, { force: true });
    return false;
  }
  try {
    closeSync(fd);
    if (!isSameLockFile(lock, judged)) return false;
    rmSync(lock, { force: true });
    return true;
  } finally {
    rmSync(guard, { force: true });
  }
}

function isSameLockFile(lock: string, identity: LockFileIdentity): boolean {
  const stats = statOrUndefined(lock);
  return stats !== undefined && stats.dev === identity.dev && stats.ino === identity.ino && stats.mtimeMs === identity.mtimeMs;
}

function identityOf(stats: Stats): LockFileIdentity {
  return { dev: stats.dev, ino: stats.ino, mtimeMs: stats.mtimeMs };
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (error) {
    // Gone between open and stat: not stale, simply free now.
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}
