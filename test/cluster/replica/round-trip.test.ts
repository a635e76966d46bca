import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { replicate, type ActorReplication } from "../../../src/cluster/replica/capture.ts";
import { MemoryLog } from "../../../src/cluster/replica/memory-log.ts";
import { logPosition, restoreAgentFile } from "../../../src/cluster/replica/restore.ts";
import type { ReplicaLink } from "../../../src/storage/replication.ts";
import { commit, dumpSchema, dumpTables, openAgent, removeScratch, scratchDir } from "./helpers.ts";

const ACTOR = "notes/a";

describe("capture and restore round trips", () => {
  let dir: string;
  let log: MemoryLog;
  let replication: ActorReplication;
  let source: DatabaseSync;
  let link: ReplicaLink;
  const open: DatabaseSync[] = [];

  beforeEach(() => {
    dir = scratchDir();
    log = new MemoryLog();
    const { epoch, startSeq } = log.claim(ACTOR);
    replication = replicate({ actorId: ACTOR, epoch, startSeq, appender: log });
    source = openAgent(join(dir, "source.sqlite"), ACTOR);
    open.push(source);
    link = replication.attach(source);
  });

  afterEach(() => {
    for (const db of open.splice(0)) if (db.isOpen) db.close();
    removeScratch(dir);
  });

  /** Restores from the log into a new file and opens it as an agent file. */
  function restored(): DatabaseSync {
    const path = join(dir, `restored-${open.length}.sqlite`);
    restoreAgentFile(path, log.history(ACTOR));
    const db = openAgent(path, ACTOR);
    open.push(db);
    return db;
  }

  function expectSameFiles(copy: DatabaseSync): void {
    expect(dumpSchema(copy)).toEqual(dumpSchema(source));
    expect(dumpTables(copy)).toEqual(dumpTables(source));
  }

  test("inserts, updates and deletes over several commits arrive as changesets and rebuild the same rows", async () => {
    // The schema is made before the first replicated commit, as an agent's migrations would in a file
    // restored from a snapshot; here the file is new, so its first entry is a snapshot.
    await commit(source, link, "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, tags BLOB)");
    await commit(source, link, "INSERT INTO notes (body, tags) VALUES ('one', x'01'), ('two', x'0203'), ('three', NULL)");
    await commit(source, link, "UPDATE notes SET body = 'TWO' WHERE id = 2");
    await commit(source, link, "DELETE FROM notes WHERE id = 1; INSERT INTO notes (body) VALUES ('four')");
    await commit(source, link, "INSERT INTO _hearth_kv (key, value) VALUES ('k', x'ff'); UPDATE _hearth_kv SET value = x'00' WHERE key = 'k'");
    expect(log.entries(ACTOR).map((entry) => entry.kind)).toEqual(["snapshot", "changeset", "changeset", "changeset", "changeset"]);
    expectSameFiles(restored());
  });

  test("the file and its log agree on the position: each writing commit bumps log_seq in the same transaction", async () => {
    await commit(source, link, "CREATE TABLE t (k TEXT PRIMARY KEY, v INT)");
    await commit(source, link, "INSERT INTO t VALUES ('a', 1)");
    const seq = replication.seq;
    expect(seq).toBe(3); // claim's marker is 1, then two commits
    expect(source.prepare("SELECT value FROM _hearth_meta WHERE key = 'log_seq'").get()?.value).toBe("3");
    expect(log.history(ACTOR).head).toBe(3);
    const path = join(dir, "restored.sqlite");
    restoreAgentFile(path, log.history(ACTOR));
    expect(logPosition(path)).toBe(3);
  });

  test("rows written then rolled back to a savepoint are not in the changeset; the rest of the transaction is", async () => {
    await commit(source, link, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    await commit(
      source,
      link,
      `INSERT INTO t VALUES (1, 'kept');
       SAVEPOINT event; INSERT INTO t VALUES (2, 'undone'); UPDATE t SET v = 'undone too' WHERE id = 1; ROLLBACK TO event; RELEASE event;
       SAVEPOINT event; INSERT INTO t VALUES (3, 'kept too'); RELEASE event;`,
    );
    expect(source.prepare("SELECT count(*) AS n FROM t").get()?.n).toBe(2);
    const copy = restored();
    expect(copy.prepare("SELECT id, v FROM t ORDER BY id").all()).toEqual([
      { id: 1, v: "kept" },
      { id: 3, v: "kept too" },
    ]);
    expectSameFiles(copy);
  });

  test("a table created mid-way ships a snapshot, and changesets continue after it", async () => {
    await commit(source, link, "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT)");
    await commit(source, link, "INSERT INTO a VALUES (1, 'x'), (2, 'y')");
    await commit(source, link, "CREATE TABLE b (k TEXT PRIMARY KEY, n INT) WITHOUT ROWID; INSERT INTO b VALUES ('p', 1)");
    await commit(source, link, "UPDATE b SET n = n + 1; DELETE FROM a WHERE id = 1");
    await commit(source, link, "ALTER TABLE a ADD COLUMN extra TEXT DEFAULT 'd'; CREATE INDEX a_v ON a (v)");
    await commit(source, link, "INSERT INTO a (id, v, extra) VALUES (5, 'z', 'e')");
    // The log keeps entries from the latest snapshot on (the MemoryLog compacts like the real one).
    expect(log.entries(ACTOR).map((entry) => entry.kind)).toEqual(["snapshot", "changeset"]);
    expectSameFiles(restored());
  });

  test("AUTOINCREMENT tables and rows written by triggers come back once (triggers do not fire again on replay)", async () => {
    await commit(
      source,
      link,
      `CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT);
       CREATE TABLE audit (id INTEGER PRIMARY KEY, item INT, what TEXT);
       CREATE TABLE counts (k TEXT PRIMARY KEY, n INT);
       INSERT INTO counts VALUES ('items', 0);
       CREATE TRIGGER items_added AFTER INSERT ON items BEGIN
         INSERT INTO audit (item, what) VALUES (new.id, 'added');
         UPDATE counts SET n = n + 1 WHERE k = 'items';
       END;`,
    );
    await commit(source, link, "INSERT INTO items (name) VALUES ('a'), ('b'), ('c')");
    await commit(source, link, "DELETE FROM items WHERE id = 2; INSERT INTO items (name) VALUES ('d')");
    const copy = restored();
    expectSameFiles(copy);
    expect(copy.prepare("SELECT n FROM counts").get()?.n).toBe(4);
    // The trigger is back and works on the restored file.
    copy.exec("INSERT INTO items (name) VALUES ('e')");
    expect(copy.prepare("SELECT n FROM counts").get()?.n).toBe(5);
  });

  test("foreign keys with ON DELETE CASCADE: the cascaded deletes are in the changeset and replay without the checks", async () => {
    await commit(
      source,
      link,
      `CREATE TABLE parent (id INTEGER PRIMARY KEY);
       CREATE TABLE child (id INTEGER PRIMARY KEY, parent INT REFERENCES parent (id) ON DELETE CASCADE);`,
    );
    await commit(source, link, "INSERT INTO parent VALUES (1), (2); INSERT INTO child VALUES (10, 1), (11, 1), (20, 2)");
    await commit(source, link, "DELETE FROM parent WHERE id = 1");
    const copy = restored();
    expect(copy.prepare("SELECT id FROM child ORDER BY id").all()).toEqual([{ id: 20 }]);
    expectSameFiles(copy);
  });

  test("FTS5: the index's shadow tables replicate, and MATCH and the integrity check work on the restored file", async () => {
    await commit(source, link, "CREATE VIRTUAL TABLE docs USING fts5(title, body)");
    await commit(source, link, "INSERT INTO docs (title, body) VALUES ('hello', 'the quick brown fox'), ('bye', 'lazy dogs sleep')");
    await commit(source, link, "INSERT INTO docs (title, body) VALUES ('more', 'a quick reply'); DELETE FROM docs WHERE title = 'bye'");
    expect(log.entries(ACTOR).map((entry) => entry.kind)).toEqual(["snapshot", "changeset", "changeset"]);
    const copy = restored();
    expect(copy.prepare("SELECT title FROM docs WHERE docs MATCH 'quick' ORDER BY title").all()).toEqual([{ title: "hello" }, { title: "more" }]);
    expect(copy.prepare("SELECT count(*) AS n FROM docs WHERE docs MATCH 'lazy'").get()?.n).toBe(0);
    copy.exec("INSERT INTO docs (docs) VALUES ('integrity-check')");
    expectSameFiles(copy);
  });

  test("a connection closed and opened again (parking) continues the same seqs on a new session", async () => {
    await commit(source, link, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    await commit(source, link, "INSERT INTO t VALUES (1, 'before')");
    link.detach();
    source.close();
    source = openAgent(join(dir, "source.sqlite"), ACTOR);
    open.push(source);
    link = replication.attach(source);
    await commit(source, link, "INSERT INTO t VALUES (2, 'after'); UPDATE t SET v = 'changed' WHERE id = 1");
    expect(log.entries(ACTOR).map((entry) => [entry.kind, entry.seq])).toEqual([
      ["snapshot", 2],
      ["changeset", 3],
      ["changeset", 4],
    ]);
    expectSameFiles(restored());
  });

  test("a second connection attached while one is open is refused", () => {
    expect(() => replication.attach(source)).toThrow(`${ACTOR}: a second connection attached to the replica log while one is open (detach the first)`);
  });
});
