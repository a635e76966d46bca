import { readFileSync, rmSync } from "node:fs";
import type { DatabaseSync } from "node:sqlite";

/** Free pages an image leaves out by vacuuming only from this many on, and a quarter of the file. */
const VACUUM_FROM_FREE_PAGES = 16;

let images = 0;

/**
 * A whole-database image for the log's snapshot. A database with much free space (rows deleted since
 * it grew) is vacuumed into a file beside it first, so the image holds only the pages in use: an agent
 * that grew past the largest snapshot the log takes and shrank again fits once more, and a restore
 * copies no free pages. Otherwise the pages as they are (`serialize`).
 * @example
 * const image = snapshotImage(db); // a Uint8Array, a valid SQLite file in WAL mode
 */
export function snapshotImage(db: DatabaseSync): Uint8Array {
  const { pages, free } = db.prepare("SELECT page_count AS pages, freelist_count AS free FROM pragma_page_count(), pragma_freelist_count()").get() as { pages: number; free: number };
  const location = db.location();
  // VACUUM cannot run inside a transaction; an in-memory database has no folder to vacuum into.
  if (free < VACUUM_FROM_FREE_PAGES || free * 4 < pages || db.isTransaction || location === null) return db.serialize();
  const target = `${location}.image-${process.pid}-${++images}`;
  // VACUUM INTO attaches its target; agents' connections allow no attached database (storage/connection.ts).
  // Raised for this one statement of Hearth's own, synchronously: no agent's SQL runs meanwhile.
  const attach = db.limits.attach;
  db.limits.attach = Math.max(1, attach);
  try {
    db.exec(`VACUUM INTO '${target.replaceAll("'", "''")}'`);
    const image = readFileSync(target);
    // VACUUM INTO writes a rollback-journal file; the agent's files are in WAL mode (the file format's
    // write and read versions, bytes 18 and 19: 2 for WAL), as a serialized image of one is.
    image[18] = 2;
    image[19] = 2;
    return image;
  } finally {
    db.limits.attach = attach;
    rmSync(target, { force: true });
  }
}

/** The bytes of the pages in use (`size`): about what {@link snapshotImage} comes to. */
export const LIVE_BYTES_SQL = "SELECT (page_count - freelist_count) * page_size AS size FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()";
