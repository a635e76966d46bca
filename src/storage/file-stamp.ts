import { closeSync, openSync, readSync } from "node:fs";

/**
 * Where SQLite keeps `PRAGMA application_id` in a file's header: Hearth's "unsettled" stamp (the boot
 * that wrote the file without fsync; 0 once it is durable, see settle.ts).
 */
export const STAMP_OFFSET = 68;

/**
 * The stamp in a file's header read without SQLite (for a file SQLite refuses to open); undefined
 * when the file is too short to have one.
 * @example if ((readStamp(path) ?? 0) !== 0) settleFile(path);
 */
export function readStamp(path: string): number | undefined {
  return readHeaderInt(path, STAMP_OFFSET);
}

/**
 * The big-endian 32-bit integer at `offset` of a SQLite file's header, read without SQLite (whose
 * lock may keep it out); undefined when the file is too short.
 * @example readHeaderInt(path, 60) // user_version
 */
export function readHeaderInt(path: string, offset: number): number | undefined {
  const fd = openSync(path, "r");
  try {
    const header = Buffer.alloc(4);
    return readSync(fd, header, 0, 4, offset) === 4 ? header.readInt32BE(0) : undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * The file that exists while a thread of this process checkpoints a killed process's file before
 * clearing its stamp (settle.ts): an open of that agent meanwhile finds it locked, and waits for the
 * checkpoint instead of taking the lock for another process's.
 */
export function settlingMarkerOf(path: string): string {
  return `${path}-settling`;
}
