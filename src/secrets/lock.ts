import { closeSync, openSync, rmSync, statSync, writeSync } from "node:fs";
import { SecretStoreError } from "./errors.ts";

/** How long a writer waits for another one before giving up. */
const LOCK_WAIT_MS = 5_000;
/** A lock older than this is left over from a crashed process (a write takes milliseconds). */
const STALE_LOCK_MS = 30_000;
const RETRY_MS = 10;

const sleeper = new Int32Array(new SharedArrayBuffer(4));

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
      if (isStale(lock)) {
        rmSync(lock, { force: true });
        continue;
      }
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
    try {
      writeSync(fd, String(process.pid));
    } finally {
      closeSync(fd);
    }
    try {
      return fn();
    } finally {
      rmSync(lock, { force: true });
    }
  }
}

function isStale(lock: string): boolean {
  try {
    return Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS;
  } catch {
    // Gone between open and stat: not stale, simply free now.
    return false;
  }
}
