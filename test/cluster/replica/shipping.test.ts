import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { FencedError } from "../../../src/cluster/log.ts";
import { replicate, SNAPSHOT_AFTER_BYTES, UNREPLICATED_POSITION, type ActorReplication, type ReplicateOptions } from "../../../src/cluster/replica/capture.ts";
import { MemoryLog } from "../../../src/cluster/replica/memory-log.ts";
import { logPosition, restoreAgentFile } from "../../../src/cluster/replica/restore.ts";
import type { ReplicaLink } from "../../../src/storage/replication.ts";
import { commit, dumpTables, openAgent, removeScratch, scratchDir, track, turns } from "./helpers.ts";

const ACTOR = "orders/1";

describe("shipping commits to the log", () => {
  let dir: string;
  let log: MemoryLog;
  let replication: ActorReplication;
  let source: DatabaseSync;
  let link: ReplicaLink;
  const open: DatabaseSync[] = [];

  function start(options: Partial<ReplicateOptions> = {}): void {
    const { epoch, startSeq } = log.claim(ACTOR);
    replication = replicate({ actorId: ACTOR, epoch, startSeq, appender: log, ...options });
    source = openAgent(join(dir, "source.sqlite"), ACTOR);
    open.push(source);
    link = replication.attach(source);
  }

  beforeEach(() => {
    dir = scratchDir();
    log = new MemoryLog();
  });

  afterEach(() => {
    for (const db of open.splice(0)) if (db.isOpen) db.close();
    removeScratch(dir);
  });

  function restoredRows(): Record<string, string[]> {
    const path = join(dir, `restored-${open.length}.sqlite`);
    restoreAgentFile(path, log.history(ACTOR));
    const db = openAgent(path, ACTOR);
    open.push(db);
    return dumpTables(db);
  }

  const dataEntries = (): Array<[string, number]> =>
    log
      .entries(ACTOR)
      .filter((entry) => entry.kind !== "epoch_start")
      .map((entry) => [entry.kind, entry.seq]);

  test("a negative snapshotAfterBytes is refused", () => {
    expect(() => replicate({ actorId: ACTOR, epoch: 1, startSeq: 0, appender: log, snapshotAfterBytes: -1 })).toThrow(
      "snapshotAfterBytes must be a number of bytes ≥ 0, got -1",
    );
  });

  test("a read-only transaction ships nothing and leaves log_seq alone", async () => {
    start();
    await commit(source, link, "CREATE TABLE t (id INTEGER PRIMARY KEY)");
    const appends = log.appends;
    expect(commit(source, link, "SELECT * FROM t; SELECT count(*) FROM _hearth_meta")).toBeUndefined();
    // Writes that change nothing are reads too.
    expect(commit(source, link, "UPDATE t SET id = id WHERE id = 99; DELETE FROM t WHERE id < 0")).toBeUndefined();
    await turns();
    expect(log.appends).toBe(appends);
    expect(replication.seq).toBe(2);
    expect(source.prepare("SELECT value FROM _hearth_meta WHERE key = 'log_seq'").get()?.value).toBe("2");
  });

  test("commits made while an append is held coalesce into one later append; their promises settle only after it", async () => {
    start();
    await commit(source, link, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    log.hold();
    const first = track(commit(source, link, "INSERT INTO t VALUES (1, 'a')"));
    const later = [2, 3, 4, 5].map((id) => track(commit(source, link, `INSERT INTO t VALUES (${id}, 'v${id}'); UPDATE t SET v = 'seen ${id}' WHERE id = 1`)));
    await turns();
    expect(log.waiting).toBe(1); // one append in flight, the other commits wait in the session
    expect([first, ...later].map((t) => t.state)).toEqual(["pending", "pending", "pending", "pending", "pending"]);

    log.release();
    log.hold(); // the coalesced append, sent once the first is acknowledged, is held in turn
    await turns();
    expect(first.state).toBe("resolved");
    expect(later.map((t) => t.state)).toEqual(["pending", "pending", "pending", "pending"]);
    expect(log.waiting).toBe(1);

    log.release();
    await turns();
    expect(later.map((t) => t.state)).toEqual(["resolved", "resolved", "resolved", "resolved"]);
    // The second append covers the four commits and takes the last one's seq.
    expect(dataEntries()).toEqual([
      ["snapshot", 2],
      ["changeset", 3],
      ["changeset", 7],
    ]);
    expect(replication.acknowledged).toBe(7);
    expect(restoredRows()).toEqual(dumpTables(source));
  });

  test("an acknowledgement that arrives inside a transaction ships the waiting commits once it ended (not its uncommitted rows)", async () => {
    start();
    await commit(source, link, "CREATE TABLE t (id INTEGER PRIMARY KEY)");
    log.hold();
    const first = track(commit(source, link, "INSERT INTO t VALUES (1)"));
    const second = track(commit(source, link, "INSERT INTO t VALUES (2)"));
    source.exec("BEGIN; INSERT INTO t VALUES (3)");
    log.release();
    await turns();
    expect(first.state).toBe("resolved");
    expect(log.appends).toBe(2); // the session holds row 3, uncommitted: nothing may be taken out yet
    source.exec("ROLLBACK");
    await turns();
    expect(second.state).toBe("resolved");
    expect(restoredRows().t).toEqual(['{"id":1}', '{"id":2}']);
  });

  test("a fence rejects the append in flight, every commit waiting behind it, and every later commit at once", async () => {
    start();
    await commit(source, link, "CREATE TABLE t (id INTEGER PRIMARY KEY)");
    log.hold();
    const inFlight = track(commit(source, link, "INSERT INTO t VALUES (1)"));
    const waiting = track(commit(source, link, "INSERT INTO t VALUES (2)"));
    log.fence(ACTOR);
    log.release();
    await turns();
    expect(inFlight.state).toBe("rejected");
    expect(inFlight.error).toBeInstanceOf(FencedError);
    expect(waiting.state).toBe("rejected");
    expect(waiting.error).toBe(inFlight.error);
    expect(replication.broken).toBe(inFlight.error);
    expect((inFlight.error as Error).message).toBe(`${ACTOR}: this node's lease (epoch 1) was taken over by another node; the write was refused`);

    // A later writing commit fails before its COMMIT (rolled back locally); a read is refused after it.
    expect(() => commit(source, link, "INSERT INTO t VALUES (3)")).toThrow(FencedError);
    expect(source.prepare("SELECT count(*) AS n FROM t WHERE id = 3").get()?.n).toBe(0);
    await expect(commit(source, link, "SELECT 1")).rejects.toBe(inFlight.error);
    // Only what the log acknowledged before the fence is in it.
    expect(dataEntries()).toEqual([["snapshot", 2]]);
    // The file holds rows the log refused: its position matches no log, so it is rebuilt, never reused.
    expect(source.prepare("SELECT value FROM _hearth_meta WHERE key = 'log_seq'").get()?.value).toBe(String(UNREPLICATED_POSITION));
    link.detach();
    source.close();
    expect(logPosition(join(dir, "source.sqlite"))).toBe(-1);
  });

  test("any append failure breaks the link the same way", async () => {
    const failing = { append: () => Promise.reject(new Error("log unreachable: timed out after 5000 ms")) };
    replication = replicate({ actorId: ACTOR, epoch: 1, startSeq: 0, appender: failing });
    source = openAgent(join(dir, "source.sqlite"), ACTOR);
    open.push(source);
    link = replication.attach(source);
    await expect(commit(source, link, "CREATE TABLE t (id INTEGER PRIMARY KEY)")).rejects.toThrow("log unreachable: timed out after 5000 ms");
    await expect(commit(source, link, "SELECT 1")).rejects.toThrow("log unreachable");
    expect(replication.acknowledged).toBe(0);
  });

  test("compaction: once the changesets since the last snapshot pass snapshotAfterBytes and the database's size, the next entry is a snapshot", async () => {
    expect(SNAPSHOT_AFTER_BYTES).toBe(4 * 1024 * 1024);
    start({ snapshotAfterBytes: 3000 });
    await commit(source, link, `CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO t VALUES (1, '')`);
    const size = (): number => Number(source.prepare("SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()").get()?.n);
    let sinceSnapshot = 0;
    let snapshots = 0;
    for (let i = 1; i <= 60; i++) {
      // The same row rewritten: the log grows (each changeset holds the old and the new value), the database does not.
      await commit(source, link, `UPDATE t SET body = '${String(i % 10).repeat(600)}' WHERE id = 1`);
      const last = log.entries(ACTOR).at(-1)!;
      if (last.kind === "snapshot") {
        snapshots++;
        expect(sinceSnapshot).toBeLessThanOrEqual(Math.max(3000, size()));
        sinceSnapshot = 0;
      } else {
        sinceSnapshot += last.payload.byteLength;
        expect(sinceSnapshot).toBeLessThanOrEqual(Math.max(3000, size()));
      }
    }
    expect(snapshots).toBeGreaterThanOrEqual(2);
    const history = log.history(ACTOR);
    expect(history.changesets.reduce((sum, c) => sum + c.payload.byteLength, 0)).toBeLessThanOrEqual(size());
    expect(restoredRows()).toEqual(dumpTables(source));
  });

  test("compaction: an append-only log smaller than the database is never replaced by a copy of it", async () => {
    start({ snapshotAfterBytes: 100 });
    await commit(source, link, "CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)");
    for (let i = 1; i <= 20; i++) await commit(source, link, `INSERT INTO t VALUES (${i}, '${"z".repeat(300)}')`);
    expect(dataEntries().filter(([kind]) => kind === "snapshot")).toEqual([["snapshot", 2]]);
    expect(log.history(ACTOR).changesets).toHaveLength(20);
  });

  test("changeset bytes already in the log count towards compaction", async () => {
    const { epoch, startSeq } = log.claim(ACTOR);
    source = openAgent(join(dir, "source.sqlite"), ACTOR);
    open.push(source);
    source.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)"); // before replication starts: in the log already
    const options = { actorId: ACTOR, epoch, startSeq, appender: log, snapshotAfterBytes: 3000 };
    link = replicate({ ...options, changesetBytesSinceSnapshot: 1_000_000 }).attach(source);
    await commit(source, link, "INSERT INTO t VALUES (1, 'x')");
    expect(dataEntries()).toEqual([["snapshot", 2]]);
    link.detach();
    link = replicate({ ...options, startSeq: 2 }).attach(source);
    await commit(source, link, "INSERT INTO t VALUES (2, 'y')");
    expect(dataEntries()).toEqual([
      ["snapshot", 2],
      ["changeset", 3],
    ]);
  });

  test("a table dropped while commits coalesce: the batch ships as a snapshot", async () => {
    start();
    await commit(source, link, "CREATE TABLE a (id INTEGER PRIMARY KEY); CREATE TABLE b (id INTEGER PRIMARY KEY)");
    log.hold();
    const first = track(commit(source, link, "INSERT INTO a VALUES (1)"));
    const second = track(commit(source, link, "INSERT INTO a VALUES (2); INSERT INTO b VALUES (1)"));
    const third = track(commit(source, link, "DROP TABLE a; INSERT INTO b VALUES (2)"));
    expect(replication.pending).toBe(true);
    log.release();
    await turns();
    expect([first.state, second.state, third.state]).toEqual(["resolved", "resolved", "resolved"]);
    expect(replication.pending).toBe(false);
    expect(dataEntries()).toEqual([["snapshot", 5]]);
    expect(restoredRows()).toEqual(dumpTables(source));
  });

  test("a connection that closes with commits waiting behind the append in flight ships them on its way out", async () => {
    start();
    await commit(source, link, "CREATE TABLE t (id INTEGER PRIMARY KEY)");
    log.hold();
    const first = track(commit(source, link, "INSERT INTO t VALUES (1)"));
    const second = track(commit(source, link, "INSERT INTO t VALUES (2); CREATE INDEX t_id ON t (id)"));
    const rows = dumpTables(source);
    link.detach();
    source.close();
    log.release();
    await turns();
    expect([first.state, second.state]).toEqual(["resolved", "resolved"]);
    expect(dataEntries()).toEqual([["snapshot", 4]]);
    expect(restoredRows()).toEqual(rows);
  });
});
