import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { replicate } from "../../../src/cluster/replica/capture.ts";
import { MemoryLog } from "../../../src/cluster/replica/memory-log.ts";
import { historyPosition, logPosition, restoreAgentFile } from "../../../src/cluster/replica/restore.ts";
import { STAMP_OFFSET } from "../../../src/storage/file-stamp.ts";
import { openAgentFile } from "../../../src/storage/connection.ts";
import { commit, dumpTables, openAgent, removeScratch, scratchDir } from "./helpers.ts";

const ACTOR = "restore/a";

describe("restoring an agent file from its log", () => {
  let dir: string;
  let log: MemoryLog;

  beforeEach(() => {
    dir = scratchDir();
    log = new MemoryLog();
  });
  afterEach(() => removeScratch(dir));

  /** A source agent (relaxed durability: its file carries this boot's stamp) with a few commits. */
  async function writeSource(): Promise<DatabaseSync> {
    const { epoch, startSeq } = log.claim(ACTOR);
    const replication = replicate({ actorId: ACTOR, epoch, startSeq, appender: log });
    const { db } = openAgentFile({ path: join(dir, "source.sqlite"), durability: "relaxed", identity: ACTOR, bootStamp: 12345 });
    const link = replication.attach(db);
    await commit(db, link, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    await commit(db, link, "INSERT INTO t VALUES (1, 'a'), (2, 'b')");
    await commit(db, link, "UPDATE t SET v = 'B' WHERE id = 2");
    link.detach();
    return db;
  }

  test("an empty log gives a new agent file that opens normally", () => {
    const path = join(dir, "nested", "dir", "agent.sqlite");
    restoreAgentFile(path, log.history(ACTOR));
    expect(logPosition(path)).toBeUndefined();
    const { db, created } = openAgentFile({ path, durability: "strict", identity: ACTOR, bootStamp: 0 });
    expect(created).toBe(false);
    expect(db.prepare("PRAGMA journal_mode").get()?.journal_mode).toBe("wal");
    db.close();
  });

  test("a snapshot taken in WAL mode from an unsettled (stamped) file restores as a settled WAL agent file", async () => {
    const source = await writeSource();
    const image = log.history(ACTOR).snapshot!.image;
    // What serialize() gives for a WAL database: WAL's file-format bytes, and the source's stamp.
    expect([image[18], image[19]]).toEqual([2, 2]);
    expect(Buffer.from(image).readInt32BE(STAMP_OFFSET)).toBe(12345);

    const path = join(dir, "restored.sqlite");
    restoreAgentFile(path, log.history(ACTOR));
    expect(readFileSync(path).readInt32BE(STAMP_OFFSET)).toBe(0);
    expect(existsSync(`${path}-wal`)).toBe(false);
    expect(logPosition(path)).toBe(4);
    expect(historyPosition(log.history(ACTOR))).toBe(4);
    // Opened under another boot's stamp, a stamped file would be taken as torn and emptied.
    const { db } = openAgentFile({ path, durability: "relaxed", identity: ACTOR, bootStamp: 999 });
    expect(db.prepare("PRAGMA journal_mode").get()?.journal_mode).toBe("wal");
    expect(dumpTables(db)).toEqual(dumpTables(source));
    db.close();
    source.close();
  });

  test("a stale -wal and -shm of an older file at the path are removed, never replayed onto the new file", async () => {
    const source = await writeSource();
    const path = join(dir, "agent.sqlite");
    // An older file at the path, closed with a -wal holding rows the log never had.
    const old = openAgent(path, ACTOR);
    old.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (99, 'stale')");
    const staleWal = readFileSync(`${path}-wal`);
    old.close();
    writeFileSync(`${path}-wal`, staleWal);
    writeFileSync(`${path}-shm`, "junk");

    restoreAgentFile(path, log.history(ACTOR));
    expect(existsSync(`${path}-wal`)).toBe(false);
    expect(existsSync(`${path}-shm`)).toBe(false);
    const db = openAgent(path, ACTOR);
    expect(dumpTables(db)).toEqual(dumpTables(source));
    db.close();
    source.close();
  });

  test("a changeset that does not continue the file's state is refused, and the file at the path is left as it was", async () => {
    const source = await writeSource();
    source.close();
    const path = join(dir, "agent.sqlite");
    const history = log.history(ACTOR);
    restoreAgentFile(path, history);
    const before = readFileSync(path);
    // The same UPDATE twice: the second finds 'B' where it expects 'b'.
    const broken = { ...history, changesets: [...history.changesets, { seq: 9, payload: history.changesets.at(-1)!.payload }] };
    expect(() => restoreAgentFile(path, broken)).toThrow(
      "Cannot restore: the changeset at seq 9 conflicts with the rows before it (the log does not continue this file's state)",
    );
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(existsSync(`${path}.restore`)).toBe(false);
  });

  test("changesets out of order, or not after the snapshot, are refused", () => {
    const payload = new Uint8Array();
    expect(() => restoreAgentFile(join(dir, "x.sqlite"), { snapshot: { seq: 5, image: new Uint8Array() }, changesets: [{ seq: 5, payload }], head: 5 })).toThrow(
      "Cannot restore: changeset seq 5 is not after 5 (changesets must follow the snapshot in increasing seq order)",
    );
    expect(() => restoreAgentFile(join(dir, "x.sqlite"), { changesets: [{ seq: 3, payload }, { seq: 2, payload }], head: 3 })).toThrow(
      "Cannot restore: changeset seq 2 is not after 3",
    );
  });

  test("a snapshot that is not a SQLite database is refused with a clear error", () => {
    const image = new TextEncoder().encode("not a database, just some bytes that are long enough to have a header ".repeat(2));
    expect(() => restoreAgentFile(join(dir, "x.sqlite"), { snapshot: { seq: 1, image }, changesets: [], head: 1 })).toThrow(
      `Cannot restore ${join(dir, "x.sqlite")}: the snapshot at seq 1 is not a usable SQLite database (file is not a database)`,
    );
    expect(existsSync(join(dir, "x.sqlite"))).toBe(false);
  });

  test("historyPosition: the seq of the last snapshot or changeset, markers left out", async () => {
    expect(historyPosition(log.history(ACTOR))).toBeUndefined();
    const source = await writeSource();
    source.close();
    log.claim(ACTOR); // a new owner's marker at 5
    const history = log.history(ACTOR);
    expect([history.head, historyPosition(history)]).toEqual([5, 4]);
    expect(historyPosition({ snapshot: { seq: 7, image: new Uint8Array() }, changesets: [], head: 9 })).toBe(7);
  });

  test("logPosition: undefined for no file or a file without a position", () => {
    expect(logPosition(join(dir, "none.sqlite"))).toBeUndefined();
    const bare = join(dir, "bare.sqlite");
    new DatabaseSync(bare).close();
    expect(logPosition(bare)).toBeUndefined();
    const agent = join(dir, "agent.sqlite");
    openAgent(agent).close();
    expect(logPosition(agent)).toBeUndefined();
  });
});
