import { readFileSync } from "node:fs";
import { strongETag, type FileVersion } from "./etag.ts";

/** A small file's contents and ETag, as of one version of it. */
export interface SmallFile extends FileVersion {
  readonly bytes: Uint8Array;
  readonly etag: string;
}

/**
 * Small files kept in memory with their ETags, up to `maxBytes` in all (the oldest read go first).
 * An entry is used only while the file's size and modification time are those it was read at, so
 * a file changed on disk is read again. Reads are synchronous: for a file this small, one read
 * costs less than the trip through libuv's thread pool an asynchronous one takes.
 * @example
 * const file = cache.read("/srv/dist/app.js", statSync("/srv/dist/app.js"));
 */
export class SmallFileCache {
  readonly #entries = new Map<string, SmallFile>();
  readonly #maxBytes: number;
  #bytes = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** The file as of `version`: from memory when it is that version, else read now (and kept). */
  read(filePath: string, version: FileVersion): SmallFile {
    const cached = this.#entries.get(filePath);
    if (cached !== undefined && cached.size === version.size && cached.mtimeMs === version.mtimeMs) return cached;
    const bytes = readFileSync(filePath);
    const file: SmallFile = { size: version.size, mtimeMs: version.mtimeMs, bytes, etag: strongETag(bytes) };
    this.#forget(filePath);
    if (bytes.byteLength <= this.#maxBytes) {
      this.#entries.set(filePath, file);
      this.#bytes += bytes.byteLength;
      for (const [oldest, entry] of this.#entries) {
        if (this.#bytes <= this.#maxBytes) break;
        this.#forget(oldest, entry);
      }
    }
    return file;
  }

  /** Bytes held now. */
  get heldBytes(): number {
    return this.#bytes;
  }

  #forget(filePath: string, entry = this.#entries.get(filePath)): void {
    if (entry === undefined) return;
    this.#entries.delete(filePath);
    this.#bytes -= entry.bytes.byteLength;
  }
}
