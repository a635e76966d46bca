import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import type { LogAppender } from "../../../src/cluster/log.ts";
import { replicate, SnapshotTooLargeError, type ActorReplication } from "../../../src/cluster/replica/capture.ts";
import { MemoryLog } from "../../../src/cluster/replica/memory-log.ts";
import { restoreAgentFile } from "../../../src/cluster/replica/restore.ts";
import type { ReplicaLink } from "../../../src/storage/replication.ts";
import { commit, dumpTables, openAgent, removeScratch, scratchDir } from "./helpers.ts";

const ACTOR = "big/a";
/** The largest snapshot the log below takes: small, so a few rows pass it. */
const LIMIT = 64 * 1024;

/**
 * An agent whose database grows past the largest snapshot the log takes: compaction would ship it
 * whole and the log refuse it (as the group committer refuses one above MAX_SNAPSHOT_BYTES).
 */
describe("a database larger than the largest snapshot the log takes", () => {
  let dir: string;
  let log: MemoryLog;
  let refused: number;
  let replication: ActorReplication;
  let source: DatabaseSync;
  let link: ReplicaLink;
  let logged: string[];

  beforeEach(async () => {
    dir = scratchDir();
    log = new MemoryLog();
    refused = 0;
    logged = [];
    vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void logged.push(args.map(String).join(" ")));
    // The log's own limit, as the group committer applies it.
    const limited: LogAppender = {
      append: (entry) => {
        if (entry.kind === "snapshot" && entry.payload.byteLength > LIMIT) {
          refused++;
          return Promise.reject(new RangeError(`${entry.actorId}: snapshot payload of ${entry.payload.byteLength} bytes exceeds the limit of ${LIMIT} bytes; nothing was written`));
        }
        return log.append(entry);
      },
    };
    const { epoch, startSeq } = log.claim(ACTOR);
    // Compaction as soon as the changes since the last snapshot pass the database's size.
    replication = replicate({ actorId: ACTOR, epoch, startSeq, appender: limited, snapshotAfterBytes: 0, maxSnapshotBytes: LIMIT });
    source = openAgent(join(dir, "source.sqlite"), ACTOR);
    link = replication.attach(source);
    await commit(source, link, "CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB)");
    // 24 rows of 4 KiB: about 100 KiB, past the limit, one changeset each.
    for (let id = 0; id < 24; id++) await commit(source, link, `INSERT INTO blobs VALUES (${id}, randomblob(4096))`);
  });

  afterEach(() => {
    vi.restoreAllMocks();
    if (source.isOpen) source.close();
    removeScratch(dir);
  });

  const size = (): number => Number(source.prepare("SELECT page_count * page_size AS size FROM pragma_page_count(), pragma_page_size()").get()?.size);

  test("is not compacted: its changes go on as changesets, replication holds, a restore from the log matches", async () => {
    expect(size()).toBeGreaterThan(LIMIT);
    // Each rewrites every row: the changes since the last snapshot pass the database's size at once.
    for (let round = 0; round < 3; round++) await commit(source, link, "UPDATE blobs SET data = randomblob(4096)");
    expect(replication.broken).toBeUndefined();
    expect(refused).toBe(0);
    const kinds = log.entries(ACTOR).map((entry) => entry.kind);
    expect(kinds.filter((kind) => kind === "snapshot")).toHaveLength(1); // the CREATE TABLE, when it was small
    expect(kinds.at(-1)).toBe("changeset");
    expect(logged.filter((line) => line.includes(`${ACTOR}: its database`) && line.includes(`${LIMIT} bytes`))).toHaveLength(1);

    const restored = join(dir, "restored.sqlite");
    restoreAgentFile(restored, log.history(ACTOR));
    const copy = openAgent(restored, ACTOR);
    try {
      expect(dumpTables(copy)).toEqual(dumpTables(source));
    } finally {
      copy.close();
    }
  });

  test("refuses a schema change with an error naming the limit, rolls it back, and goes on", async () => {
    const before = log.entries(ACTOR).length;
    expect(() => commit(source, link, "INSERT INTO blobs VALUES (100, x'00'); CREATE TABLE more (id INTEGER PRIMARY KEY)")).toThrow(SnapshotTooLargeError);
    expect(() => commit(source, link, "CREATE TABLE more (id INTEGER PRIMARY KEY)")).toThrow(`above the limit of ${LIMIT} bytes (MAX_SNAPSHOT_BYTES)`);
    expect(source.prepare("SELECT count(*) AS n FROM sqlite_schema WHERE name = 'more'").get()?.n).toBe(0);
    expect(source.prepare("SELECT count(*) AS n FROM blobs WHERE id = 100").get()?.n).toBe(0);
    expect(log.entries(ACTOR)).toHaveLength(before);
    // The agent is not broken: its next write ships.
    await commit(source, link, "UPDATE blobs SET data = x'01' WHERE id = 0");
    expect(replication.broken).toBeUndefined();
    expect(refused).toBe(0);
    expect(log.entries(ACTOR).at(-1)?.kind).toBe("changeset");
  });

  test("shrinks back under it once rows are deleted: compaction ships an image of the pages in use, and schema changes are taken again", async () => {
    expect(size()).toBeGreaterThan(LIMIT);
    // Its changeset (every deleted row) passes what is left: compaction, with an image of the rows left.
    await commit(source, link, "DELETE FROM blobs WHERE id >= 4");
    const snapshot = log.entries(ACTOR).at(-1)!;
    expect(snapshot.kind).toBe("snapshot");
    expect(snapshot.payload.byteLength).toBeLessThan(LIMIT);
    // The file keeps its pages (now free): the image is not a copy of it.
    expect(size()).toBeGreaterThan(2 * snapshot.payload.byteLength);
    await commit(source, link, "UPDATE blobs SET data = randomblob(4096)");
    expect(refused).toBe(0);
    expect(replication.broken).toBeUndefined();
    await commit(source, link, "CREATE TABLE more (id INTEGER PRIMARY KEY)");
    expect(log.entries(ACTOR).at(-1)?.kind).toBe("snapshot");

    const restored = join(dir, "restored.sqlite");
    restoreAgentFile(restored, log.history(ACTOR));
    const copy = openAgent(restored, ACTOR);
    try {
      expect(dumpTables(copy)).toEqual(dumpTables(source));
      expect(copy.prepare("PRAGMA journal_mode").get()?.journal_mode).toBe("wal");
      expect(copy.prepare("PRAGMA integrity_check").get()?.integrity_check).toBe("ok");
    } finally {
      copy.close();
    }
  });
});
