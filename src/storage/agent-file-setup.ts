import { createHash } from "node:crypto";
import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { takePooledDatabase } from "./file-pool.ts";
import { STAMP_OFFSET } from "./file-stamp.ts";
import { settleLeftovers } from "./settle.ts";
import { agentsFolderOf, recordUnsettled } from "./unsettled-log.ts";

/** Version of Hearth's own tables in an agent's file (`PRAGMA user_version`). */
export const SCHEMA_VERSION = 1;

/** Hearth's own tables, present in every agent's file. */
export const SCHEMA_SQL = `
  CREATE TABLE _hearth_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE _hearth_state (chunk INTEGER PRIMARY KEY, data TEXT NOT NULL);
  CREATE TABLE _hearth_kv (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;`;

/** The tables of {@link SCHEMA_SQL}: all a file made from the template has (known without asking SQLite). */
export const SCHEMA_TABLES: readonly string[] = ["_hearth_meta", "_hearth_state", "_hearth_kv"];


let template: Buffer | undefined;

/**
 * The bytes of an empty agent file: already in WAL mode, Hearth's tables made, `user_version` set.
 * Built once per process by SQLite itself (in a scratch directory, without fsync: it is only read
 * back), so a new agent costs one file write instead of SQLite's rollback journal, WAL switch and
 * five fsyncs (docs/decisions/0016-agent-files.md).
 */
export function templateBytes(): Buffer {
  if (template !== undefined) return template;
  const dir = mkdtempSync(join(tmpdir(), "hearth-template-"));
  try {
    const path = join(dir, "template.sqlite");
    const db = new DatabaseSync(path);
    db.exec(`PRAGMA synchronous = OFF; PRAGMA journal_mode = WAL;
      BEGIN; ${SCHEMA_SQL} PRAGMA user_version = ${SCHEMA_VERSION}; COMMIT;`);
    db.close(); // checkpoints: every page is in the main file now
    template = readFileSync(path);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return template;
}

let boot: number | undefined;

/**
 * A non-zero 32-bit number that changes at every boot of the machine (from Linux's boot id), or 0
 * where the system has none: then every file is created durable. A file stamped with an older boot's
 * number was written without fsync before a power loss or reboot and may be torn.
 */
export function currentBootStamp(): number {
  if (boot !== undefined) return boot;
  try {
    const id = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
    boot = createHash("sha256").update(id).digest().readInt32BE(0) || 1;
  } catch {
    boot = 0;
  }
  return boot;
}

/**
 * Creates a new agent file from the template. With `stamp` 0 (strict durability, or no boot id) the
 * bytes are fsynced under a temporary name and renamed into place, so the file cannot tear; a lost
 * rename leaves no file, which is an agent with nothing stored. With a boot stamp the file is written
 * without any fsync and carries the stamp until {@link settleFile} makes it durable; after a reboot
 * an unsettled file is treated as empty (see `connection.ts`).
 */
export function createAgentFile(path: string, stamp: number): void {
  if (stamp !== 0) {
    try {
      recordUnsettled(path, stamp, settleLeftovers);
    } catch (error) {
      throw creationError(path, error, 0, templateBytes().length);
    }
    if (takePooledDatabase(agentsFolderOf(resolve(path)), path, stamp, stampedTemplate)) return;
  }
  // A -wal file left from an earlier file at this path (a destroyed agent) must not be replayed.
  rmSync(`${path}-wal`, { force: true });
  const bytes = stampedTemplate(stamp);
  if (stamp !== 0) {
    writeNew(path, bytes, false);
    return;
  }
  const temporary = `${path}.new`;
  writeNew(temporary, bytes, true);
  renameSync(temporary, path);
}

/** The template's bytes with `stamp` in the header (what a new agent file starts as). */
export function stampedTemplate(stamp: number): Buffer {
  const bytes = Buffer.from(templateBytes());
  bytes.writeInt32BE(stamp, STAMP_OFFSET);
  return bytes;
}

/**
 * Writes the whole of `bytes` to a new file at `path`. A write that stops short (a full disk) or
 * fails removes the file: a truncated agent file would be refused as malformed at every open after
 * (a relaxed one until a reboot, a strict one for good), where no file is an agent made again by the
 * next request once there is room.
 */
function writeNew(path: string, bytes: Buffer, sync: boolean): void {
  const fd = openSync(path, sync ? "w" : "wx");
  let written = 0;
  try {
    while (written < bytes.length) {
      const count = writeSync(fd, bytes, written, bytes.length - written);
      if (count === 0) throw Object.assign(new Error("no byte written"), { code: "ENOSPC" });
      written += count;
    }
    if (sync) fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(path, { force: true });
    throw creationError(path, error, written, bytes.length);
  }
  closeSync(fd);
}

function creationError(path: string, error: unknown, written: number, total: number): Error {
  const code = (error as NodeJS.ErrnoException).code;
  const why = code === "ENOSPC" || code === "EDQUOT" ? "the disk is full" : (error as Error).message;
  return new Error(`Cannot create agent file ${path}: ${why} (${written} of ${total} bytes written; nothing was kept, the next try starts it again)`, { cause: error });
}
