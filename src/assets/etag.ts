import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";

/** The file's size and modification time, as `stat` gives them: a change to either means new contents. */
export interface FileVersion {
  readonly size: number;
  readonly mtimeMs: number;
}

interface Known extends FileVersion {
  readonly etag: string;
}

/**
 * Strong ETags of large files, hashed from disk as a stream the first time a file is served and
 * kept while its size and modification time stay the same. Computing them lazily keeps start-up
 * to one `stat` per file however large the directory.
 * @example
 * const etag = await etags.ofFile("/srv/dist/app.js", { size, mtimeMs }); // "\"3f2a…\""
 */
export class ETagCache {
  readonly #known = new Map<string, Known>();
  readonly #pending = new Map<string, Promise<string>>();

  /** The ETag of a file on disk, hashing it as a stream (once, however many requests ask at a time). */
  async ofFile(filePath: string, version: FileVersion): Promise<string> {
    const known = this.#current(filePath, version);
    if (known !== undefined) return known;
    const key = `${filePath}\0${version.size}\0${version.mtimeMs}`;
    let pending = this.#pending.get(key);
    if (pending === undefined) {
      pending = hashFile(filePath)
        .then((etag) => {
          this.#known.set(filePath, { ...version, etag });
          return etag;
        })
        .finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    return pending;
  }

  #current(filePath: string, version: FileVersion): string | undefined {
    const known = this.#known.get(filePath);
    return known !== undefined && known.size === version.size && known.mtimeMs === version.mtimeMs ? known.etag : undefined;
  }
}

/**
 * True when `If-None-Match` names `etag`, alone or in a list (weak `W/` forms match too, since a GET
 * compares weakly). `*` matches nothing: Cloudflare's asset server answers 304 only to the asset's own
 * ETag, so a `*` never turns a 404 page (or any answer) into an empty 304.
 */
export function ifNoneMatchHits(header: string | null, etag: string): boolean {
  if (header === null) return false;
  return header.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag);
}

/** The strong ETag of some contents: SHA-256, the first 32 hex digits (as long as Cloudflare's), quoted. */
export function strongETag(bytes: Uint8Array): string {
  return quote(createHash("sha256").update(bytes).digest("hex"));
}

function quote(hex: string): string {
  return `"${hex.slice(0, 32)}"`;
}

async function hashFile(filePath: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(filePath)) hash.update(chunk as Buffer);
  return quote(hash.digest("hex"));
}
