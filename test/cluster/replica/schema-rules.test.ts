import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { replicate, type ActorReplication } from "../../../src/cluster/replica/capture.ts";
import { MemoryLog } from "../../../src/cluster/replica/memory-log.ts";
import { UnreplicableSchemaError } from "../../../src/cluster/replica/schema-rules.ts";
import type { ReplicaLink } from "../../../src/storage/replication.ts";
import { commit, openAgent, removeScratch, scratchDir } from "./helpers.ts";

const ACTOR = "schema/a";
const ONE_TABLE =
  'Table "events" has no PRIMARY KEY: in a cluster an agent\'s rows are replicated as SQLite changesets, which carry only rows of tables ' +
  'with a declared primary key. Declare one (e.g. "id INTEGER PRIMARY KEY", or a PRIMARY KEY on the columns that identify a row); ' +
  "the transaction was rolled back.";

describe("schema rules for replicated agents", () => {
  let dir: string;
  let log: MemoryLog;
  let replication: ActorReplication;
  let source: DatabaseSync;
  let link: ReplicaLink;

  beforeEach(() => {
    dir = scratchDir();
    log = new MemoryLog();
    const { epoch, startSeq } = log.claim(ACTOR);
    replication = replicate({ actorId: ACTOR, epoch, startSeq, appender: log });
    source = openAgent(join(dir, "source.sqlite"), ACTOR);
    link = replication.attach(source);
  });

  afterEach(() => {
    if (source.isOpen) source.close();
    removeScratch(dir);
  });

  const tableNames = (): unknown[] => source.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY name").all().map((row) => row.name);

  test("a table without a PRIMARY KEY is refused with a message naming it, and the transaction's writes are rolled back", async () => {
    await commit(source, link, "CREATE TABLE kept (id INTEGER PRIMARY KEY)");
    const appends = log.appends;
    expect(() => commit(source, link, "INSERT INTO kept VALUES (1); CREATE TABLE events (at INTEGER, what TEXT)")).toThrow(ONE_TABLE);
    expect(tableNames()).toEqual(["kept"]);
    expect(source.prepare("SELECT count(*) AS n FROM kept").get()?.n).toBe(0);
    expect(log.appends).toBe(appends);
    // The agent goes on: a keyed table is accepted.
    await commit(source, link, "CREATE TABLE events (id INTEGER PRIMARY KEY, at INTEGER, what TEXT)");
    expect(tableNames()).toEqual(["events", "kept"]);
  });

  test("every unkeyed table is named; keyed forms (INTEGER PRIMARY KEY, composite, WITHOUT ROWID, TEXT key) pass", () => {
    let error: unknown;
    try {
      commit(
        source,
        link,
        `CREATE TABLE a (id INTEGER PRIMARY KEY);
         CREATE TABLE b (x TEXT, y TEXT, PRIMARY KEY (x, y));
         CREATE TABLE c (k TEXT PRIMARY KEY, v) WITHOUT ROWID;
         CREATE TABLE d (k TEXT PRIMARY KEY, v);
         CREATE TABLE "log lines" (line TEXT);
         CREATE TABLE z (n INTEGER UNIQUE);`,
      );
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(UnreplicableSchemaError);
    expect((error as UnreplicableSchemaError).tables).toEqual(["log lines", "z"]);
    expect((error as Error).message).toMatch(/^Tables "log lines", "z" have no PRIMARY KEY: /);
  });

  test("a table without a key that was there before replication started is refused at the first write, and dropping it is allowed", async () => {
    link.detach();
    source.exec("CREATE TABLE legacy (line TEXT)");
    link = replication.attach(source);
    expect(() => commit(source, link, "INSERT INTO _hearth_kv VALUES ('k', x'01')")).toThrow(/^Table "legacy" has no PRIMARY KEY: /);
    // Reads still work.
    expect(commit(source, link, "SELECT count(*) FROM legacy")).toBeUndefined();
    await commit(source, link, "DROP TABLE legacy; INSERT INTO _hearth_kv VALUES ('k', x'01')");
    expect(log.entries(ACTOR).at(-1)?.kind).toBe("snapshot");
  });

  test("FTS5 and other virtual tables are not refused (their shadow tables have keys); sqlite_sequence is SQLite's own", async () => {
    await commit(source, link, "CREATE VIRTUAL TABLE docs USING fts5(body); CREATE TABLE items (id INTEGER PRIMARY KEY AUTOINCREMENT)");
    await commit(source, link, "CREATE VIRTUAL TABLE places USING rtree(id, minx, maxx)");
    expect(replication.acknowledged).toBe(3);
  });
});
