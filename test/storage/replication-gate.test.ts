import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DatabaseSync } from "node:sqlite";
import { afterEach, describe, expect, it } from "vitest";
import { AgentDatabase, type TransactionOwner } from "../../src/storage/database.ts";
import type { DatabaseReplication, ReplicaLink } from "../../src/storage/replication.ts";
import { whenFilesSettled } from "../../src/storage/settle.ts";

/**
 * The output gate of a replicated database: the storage's side of the contract in
 * src/storage/replication.ts, driven by a log whose acknowledgements the test releases by hand.
 */
class HandLog implements DatabaseReplication {
  readonly commits: Array<{ rows: number; ack: () => void; fail: (error: Error) => void }> = [];
  attaches = 0;
  detaches = 0;
  failBeforeCommit: string | undefined;
  readonly #changes = new WeakMap<DatabaseSync, number>();

  attach(db: DatabaseSync): ReplicaLink {
    this.attaches++;
    return {
      beforeCommit: () => {
        if (this.failBeforeCommit !== undefined) throw new Error(this.failBeforeCommit);
      },
      committed: () => {
        // A transaction that only read has nothing to replicate (as the real link decides).
        const changes = Number(db.prepare("SELECT total_changes() AS n").get()?.n ?? 0);
        if (changes === this.#changes.get(db)) return undefined;
        this.#changes.set(db, changes);
        const rows = Number(db.prepare("SELECT count(*) AS n FROM notes").get()?.n ?? 0);
        return new Promise<void>((resolve, reject) => this.commits.push({ rows, ack: resolve, fail: reject }));
      },
      detach: () => {
        this.detaches++;
      },
    };
  }
}

const dirs: string[] = [];
const open: AgentDatabase[] = [];
afterEach(async () => {
  for (const db of open.splice(0)) db.close();
  await whenFilesSettled();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

let owner: TransactionOwner;

function make(log: HandLog): AgentDatabase {
  const dir = mkdtempSync(join(tmpdir(), "hearth-replication-"));
  dirs.push(dir);
  owner = undefined;
  const db = new AgentDatabase({ path: join(dir, "a.sqlite"), durability: "relaxed", identity: "counter/a", currentOwner: () => owner, replication: log });
  open.push(db);
  db.execScript("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)");
  db.flush();
  log.commits.splice(0).forEach((commit) => commit.ack());
  return db;
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const insert = (db: AgentDatabase, text: string) => db.statement("INSERT INTO notes (text) VALUES (?)").run(text);

describe("a replicated database's output gate", () => {
  it("holds output until the log has the commit, and releases commits in order whatever order the log answers in", async () => {
    const log = new HandLog();
    const db = make(log);
    const sent: string[] = [];
    insert(db, "one");
    db.output(() => sent.push("after one"));
    db.flush();
    insert(db, "two");
    db.output(() => sent.push("after two"));
    db.flush();
    db.output(() => sent.push("no writes, but after two"));
    expect(log.commits.map((commit) => commit.rows)).toEqual([1, 2]);
    await nextTurn();
    expect(sent).toEqual([]);
    log.commits[1]!.ack();
    await nextTurn();
    expect(sent).toEqual([]);
    log.commits[0]!.ack();
    await nextTurn();
    expect(sent).toEqual(["after one", "after two", "no writes, but after two"]);
  });

  it("settles an event only when its writes are in the log, even when it ends turns after it wrote", async () => {
    const log = new HandLog();
    const db = make(log);
    const event = {};
    owner = event;
    insert(db, "written early");
    owner = undefined;
    await nextTurn(); // the turn's commit happened; the log has not answered
    expect(log.commits).toHaveLength(1);
    const settled = db.endEvent(event, false);
    expect(settled).toBeInstanceOf(Promise);
    let done = false;
    void settled!.then(() => (done = true));
    await nextTurn();
    expect(done).toBe(false);
    log.commits[0]!.ack();
    await settled;
    expect(done).toBe(true);
    expect(db.endEvent({}, false)).toBeUndefined();
  });

  it("drops the output of a commit the log refused, and its writer's event fails with the reason", async () => {
    const log = new HandLog();
    const db = make(log);
    const sent: string[] = [];
    const event = {};
    owner = event;
    insert(db, "refused");
    db.output(() => sent.push("never"));
    const settled = db.endEvent(event, false);
    owner = undefined;
    db.flush();
    log.commits[0]!.fail(new Error("lease moved to epoch 7"));
    await expect(settled).rejects.toThrow("Replication failed, this event's writes are not durable: lease moved to epoch 7");
    expect(sent).toEqual([]);
  });

  it("tells a still-running writer that its writes were lost when it ends", async () => {
    const log = new HandLog();
    const db = make(log);
    const event = {};
    owner = event;
    insert(db, "lost while running");
    owner = undefined;
    db.flush();
    log.commits[0]!.fail(new Error("postgres unreachable for 10 s"));
    await nextTurn();
    await expect(db.endEvent(event, false)).rejects.toThrow("postgres unreachable for 10 s");
  });

  it("keeps the order across a parked connection, and attaches the log to every connection", async () => {
    const log = new HandLog();
    const db = make(log);
    const sent: string[] = [];
    insert(db, "before parking");
    db.output(() => sent.push("first"));
    db.flush();
    expect(db.park()).toBe(true);
    expect(log.detaches).toBe(1);
    db.output(() => sent.push("second, while parked"));
    await nextTurn();
    expect(sent).toEqual([]);
    log.commits[0]!.ack();
    await nextTurn();
    expect(sent).toEqual(["first", "second, while parked"]);
    insert(db, "after reopening");
    expect(log.attaches).toBe(2);
  });

  it("fails the commit, and its writers, when the link refuses it before COMMIT", async () => {
    const log = new HandLog();
    const db = make(log);
    const event = {};
    owner = event;
    insert(db, "x");
    log.failBeforeCommit = "table t has no PRIMARY KEY";
    owner = undefined;
    expect(() => db.flush()).toThrow("table t has no PRIMARY KEY");
    await expect(db.endEvent(event, false)).rejects.toThrow("table t has no PRIMARY KEY");
    log.failBeforeCommit = undefined;
    expect(db.statement("SELECT count(*) AS n FROM notes").get()).toEqual({ n: 0 });
  });
});

describe("output that may have read writes the log refused", () => {
  it("is dropped, and a read-only event waiting behind the refused commit fails instead of answering", async () => {
    const log = new HandLog();
    const db = make(log);
    const sent: string[] = [];
    insert(db, "refused later");
    db.flush();
    // A read-only event: it sees the row (locally committed) while the log has not answered yet.
    const reader = {};
    owner = reader;
    const seen = db.statement("SELECT count(*) AS n FROM notes").get();
    db.output(() => sent.push(`reader saw ${String(seen?.n)}`));
    const settled = db.endEvent(reader, false);
    owner = undefined;
    log.commits[0]!.fail(new Error("lease moved to epoch 9"));
    await expect(settled).rejects.toThrow("Replication failed before this event's output could leave: Replication failed, this event's writes are not durable: lease moved to epoch 9");
    expect(sent).toEqual([]);
    // Output queued after the failure was known is not held back by it.
    db.output(() => sent.push("later"));
    await nextTurn();
    expect(sent).toEqual(["later"]);
  });
});
