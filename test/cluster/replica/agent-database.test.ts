import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { FencedError } from "../../../src/cluster/log.ts";
import { replicate, UNREPLICATED_POSITION, type ActorReplication } from "../../../src/cluster/replica/capture.ts";
import { MemoryLog } from "../../../src/cluster/replica/memory-log.ts";
import { logPosition, restoreAgentFile } from "../../../src/cluster/replica/restore.ts";
import { AgentDatabase, type TransactionOwner } from "../../../src/storage/database.ts";
import { whenFilesSettled } from "../../../src/storage/settle.ts";
import { dumpTables, openAgent, removeScratch, scratchDir, turns } from "./helpers.ts";

const ACTOR = "counter/a";

/** The capture side driven by the real storage: implicit transactions, savepoints, parking, the output gate. */
describe("a replicated AgentDatabase", () => {
  let dir: string;
  let log: MemoryLog;
  let replication: ActorReplication;
  let db: AgentDatabase;
  let owner: TransactionOwner;
  const copies: DatabaseSync[] = [];

  beforeEach(() => {
    dir = scratchDir();
    log = new MemoryLog();
    const { epoch, startSeq } = log.claim(ACTOR);
    replication = replicate({ actorId: ACTOR, epoch, startSeq, appender: log });
    owner = undefined;
    db = new AgentDatabase({ path: join(dir, "agent.sqlite"), durability: "relaxed", identity: ACTOR, currentOwner: () => owner, replication });
  });

  afterEach(async () => {
    db.close();
    for (const copy of copies.splice(0)) copy.close();
    await whenFilesSettled();
    removeScratch(dir);
  });

  const insert = (text: string) => db.statement("INSERT INTO notes (text) VALUES (?)").run(text);

  /** The agent's file as it is now, read by a second connection once the agent's is closed. */
  function closedFileRows(): Record<string, string[]> {
    db.close();
    const file = openAgent(join(dir, "agent.sqlite"), ACTOR);
    copies.push(file);
    return dumpTables(file);
  }

  function restoredRows(): Record<string, string[]> {
    const path = join(dir, `restored-${copies.length}.sqlite`);
    restoreAgentFile(path, log.history(ACTOR));
    const copy = openAgent(path, ACTOR);
    copies.push(copy);
    return dumpTables(copy);
  }

  test("output leaves only once the log has the commit; events that failed leave nothing in the log", async () => {
    db.execScript("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)");
    db.flush();
    await turns();
    log.hold();
    const sent: string[] = [];
    const kept = {};
    owner = kept;
    insert("kept");
    db.output(() => sent.push("kept"));
    const settled = db.endEvent(kept, false);
    const failed = {};
    owner = failed;
    insert("rolled back");
    db.endEvent(failed, true);
    owner = undefined;
    await turns();
    expect(log.waiting).toBe(1);
    expect(sent).toEqual([]);
    log.release();
    await settled;
    expect(sent).toEqual(["kept"]);
    expect(restoredRows()).toEqual(closedFileRows());
  });

  test("many turns' commits while the log is slow coalesce, and everything survives parking in between", async () => {
    db.execScript("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)");
    db.flush();
    await turns();
    log.hold();
    insert("one");
    db.flush();
    insert("two");
    db.flush();
    expect(db.park()).toBe(true); // the session's waiting commits are taken out on the way
    insert("three, after reopening");
    db.statement("UPDATE notes SET text = upper(text) WHERE id = 1").run();
    db.flush();
    const all = db.whenCommitted();
    expect(log.waiting).toBe(1);
    log.release();
    await all;
    await turns();
    expect(log.entries(ACTOR).map((entry) => [entry.kind, entry.seq])).toEqual([
      ["snapshot", 2],
      ["changeset", 3],
      ["changeset", 4],
      ["changeset", 5],
    ]);
    const rows = closedFileRows();
    expect(rows.notes).toEqual(['{"id":1,"text":"ONE"}', '{"id":2,"text":"two"}', '{"id":3,"text":"three, after reopening"}']);
    expect(restoredRows()).toEqual(rows);
  });

  test("a fence fails the writers waiting on the log, and later writes fail at their commit", async () => {
    db.execScript("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)");
    db.flush();
    await turns();
    log.hold();
    const writer = {};
    owner = writer;
    insert("never acknowledged");
    const settled = db.endEvent(writer, false);
    owner = undefined;
    db.flush();
    log.fence(ACTOR);
    log.release();
    await expect(settled).rejects.toThrow(`Replication failed, this event's writes are not durable: ${ACTOR}: this node's lease (epoch 1) was taken over by another node`);
    expect(replication.broken).toBeInstanceOf(FencedError);
    insert("after the fence");
    expect(() => db.flush()).toThrow(/Commit failed, this event's writes were rolled back: .*taken over by another node/);
    db.close();
    expect(logPosition(join(dir, "agent.sqlite"))).toBe(UNREPLICATED_POSITION);
  });

  test("a table without a primary key fails its commit through the storage, naming the table", async () => {
    db.execScript("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)");
    db.flush();
    await turns();
    db.execScript("CREATE TABLE events (at INTEGER)");
    expect(() => db.flush()).toThrow(/Table "events" has no PRIMARY KEY/);
    expect(db.hasTable("events")).toBe(false);
  });
});
