import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { KEY_BYTES, SecretKey } from "./cipher.ts";
import { SecretStoreError } from "./errors.ts";

/** The environment variable that holds the key, when the key file is not used. */
export const KEY_ENV_VAR = "HEARTH_SECRET_KEY";
/** The key file's name inside the data directory. */
export const KEY_FILE_NAME = "secret.key";

const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const BASE64_KEY = /^(?:[A-Za-z0-9+/]{43}|[A-Za-z0-9_-]{43})=?$/;
const EXPECTED_FORMS = `${KEY_BYTES} bytes written as 64 hexadecimal characters or as base64 (44 characters; \`openssl rand -base64 32\` makes one)`;

/** `<dataDir>/secret.key`. */
export function keyFilePath(dataDir: string): string {
  return join(dataDir, KEY_FILE_NAME);
}

/**
 * Reads a key written as 64 hex characters or base64 (standard or URL-safe, padding optional);
 * surrounding whitespace is ignored. The error names the expected forms and never echoes the text.
 *
 * @param source what to call the text in the error ("HEARTH_SECRET_KEY" or the key file's path).
 * @throws {SecretStoreError} `KEY_INVALID`.
 * @example
 * parseKey(randomBytes(32).toString("hex"), "HEARTH_SECRET_KEY").source; // "HEARTH_SECRET_KEY"
 */
export function parseKey(text: string, source: string): SecretKey {
  const trimmed = text.trim();
  let bytes: Buffer | undefined;
  if (HEX_KEY.test(trimmed)) bytes = Buffer.from(trimmed, "hex");
  else if (BASE64_KEY.test(trimmed)) bytes = Buffer.from(trimmed, "base64");
  if (bytes?.length !== KEY_BYTES) {
    const what = source === KEY_ENV_VAR ? KEY_ENV_VAR : `the key file ${source}`;
    throw new SecretStoreError("KEY_INVALID", `${what} is not a usable key: it must be ${EXPECTED_FORMS}`);
  }
  return new SecretKey(bytes, source);
}

/**
 * Reads the key file, refusing one that others may read (as ssh refuses a private key file).
 * Undefined when the file does not exist.
 *
 * @throws {SecretStoreError} `KEY_PERMISSIONS` or `KEY_INVALID`.
 */
export function readKeyFile(path: string): SecretKey | undefined {
  let mode: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new SecretStoreError("KEY_INVALID", `the key file ${path} is not a regular file`);
    mode = stat.mode;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  // Windows has no POSIX permission bits: stat reports 0o666 for every writable file.
  if (process.platform !== "win32" && (mode & 0o077) !== 0) {
    const shown = (mode & 0o777).toString(8).padStart(4, "0");
    throw new SecretStoreError(
      "KEY_PERMISSIONS",
      `permissions ${shown} for the key file ${path} are too open: it must be readable by its owner only. Run: chmod 600 '${path}'`,
    );
  }
  return parseKey(readFileSync(path, "utf8"), path);
}

/**
 * Creates the key file with a fresh random key: mode 0600, the data directory created with mode 0700
 * if it does not exist. The file appears whole or not at all (written aside, then linked into place),
 * and when another process created it first, that key is returned instead.
 *
 * @throws {SecretStoreError} as {@link readKeyFile} when the existing file is unusable.
 */
export function createKeyFile(dataDir: string): SecretKey {
  const path = keyFilePath(dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const bytes = randomBytes(KEY_BYTES);
  const temp = `${path}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = openSync(temp, "wx", 0o600);
  try {
    writeSync(fd, `${bytes.toString("base64")}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    // link() fails when the name exists: the key is never replaced, even in a race.
    linkSync(temp, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  } finally {
    unlinkSync(temp);
  }
  const key = readKeyFile(path);
  if (key === undefined) throw new Error(`the key file ${path} disappeared right after it was created`);
  return key;
}
