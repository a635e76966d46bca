import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import type { SealedValue } from "./cipher.ts";
import { SecretStoreError } from "./errors.ts";

const FORMAT = "hearth-secrets";
const VERSION = 1;

/** One stored secret: its sealed value and when it was last written. */
export interface StoredSecret extends SealedValue {
  updated: string;
}

/** The contents of one environment's secrets file. Names are in clear; values are sealed. */
export interface SecretsFileContents {
  /** The fingerprint of the key the values were sealed with; null when no value was ever written. */
  keyId: string | null;
  secrets: Map<string, StoredSecret>;
}

/** Identifies one version of the file on disk, so an unchanged file is not parsed again. */
export type FileSignature = string;

/** The file's signature, or undefined when it does not exist. */
export function fileSignature(path: string): FileSignature | undefined {
  try {
    const stat = statSync(path, { bigint: true });
    // Every write is a rename of a new file, so the inode changes with each version.
    return `${stat.ino}:${stat.size}:${stat.mtimeNs}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * Reads and checks a secrets file; an empty store when it does not exist.
 *
 * @throws {SecretStoreError} `FILE_CORRUPT` when it is not a secrets file this version can read. The
 *   message never quotes the file's contents.
 */
export function readSecretsFile(path: string): SecretsFileContents {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { keyId: null, secrets: new Map() };
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw corrupt(path, "it is not valid JSON");
  }
  return checkContents(path, parsed);
}

/**
 * Replaces the file atomically: written aside with mode 0600, flushed, then renamed over the old one,
 * so a crash leaves either the old or the new version, never a torn one. Creates the directory (0700).
 */
export function writeSecretsFile(path: string, contents: SecretsFileContents): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const json = JSON.stringify(
    {
      format: FORMAT,
      version: VERSION,
      keyId: contents.keyId,
      // fromEntries defines own properties: a secret named "__proto__" stays an ordinary entry.
      secrets: Object.fromEntries([...contents.secrets].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    },
    null,
    2,
  );
  const temp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = openSync(temp, "wx", 0o600);
  try {
    writeSync(fd, `${json}\n`);
    fsyncSync(fd);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  renameSync(temp, path);
  syncDirectory(dir);
}

function checkContents(path: string, parsed: unknown): SecretsFileContents {
  if (!isRecord(parsed) || parsed.format !== FORMAT) throw corrupt(path, "it is not a Hearth secrets file");
  if (parsed.version !== VERSION) {
    throw corrupt(path, `it has format version ${String(parsed.version)}; this Hearth reads version ${VERSION} (was it written by a newer one?)`);
  }
  const keyId = parsed.keyId;
  if (keyId !== null && typeof keyId !== "string") throw corrupt(path, "its keyId is not a string");
  if (!isRecord(parsed.secrets)) throw corrupt(path, "it has no secrets object");
  const secrets = new Map<string, StoredSecret>();
  for (const [name, entry] of Object.entries(parsed.secrets)) {
    if (!isRecord(entry) || typeof entry.iv !== "string" || typeof entry.data !== "string" || typeof entry.tag !== "string") {
      throw corrupt(path, `its entry for ${JSON.stringify(name.slice(0, 64))} is malformed`);
    }
    secrets.set(name, { iv: entry.iv, data: entry.data, tag: entry.tag, updated: typeof entry.updated === "string" ? entry.updated : "" });
  }
  return { keyId, secrets };
}

function corrupt(path: string, why: string): SecretStoreError {
  return new SecretStoreError(
    "FILE_CORRUPT",
    `cannot read secrets from ${path}: ${why}. Restore it from a backup, or delete it to start over (its secrets are then lost)`,
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Flushes the directory entry of the rename; not every platform can open a directory, which is fine. */
function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Windows cannot fsync a directory; the rename itself is still atomic there.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
