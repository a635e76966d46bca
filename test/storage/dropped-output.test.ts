/**
 * Output the gate holds is either sent or, when it never will be, told so (`dropped`): a failed
 * event's, a `transaction()` closure's that was undone, a turn's whose commit was lost, and what an
 * event whose writes were lost sends afterwards. Senders use it to undo what they did (a close).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ImplicitTransaction, type TransactionOwner } from "../../src/storage/implicit-transaction.ts";
import { ReleaseQueue } from "../../src/storage/release-queue.ts";

let dir: string;
let db: DatabaseSync;
let owner: TransactionOwner;
let tx: ImplicitTransaction;
/** What happened to each output, in order: "sent x" or "dropped x". */
let fate: string[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "hearth-dropped-"));
  db = new DatabaseSync(join(dir, "t.sqlite"));
  db.exec("PRAGMA journal_mode = WAL; CREATE TABLE t (v TEXT NOT NULL)");
  owner = undefined;
  fate = [];
  tx = new ImplicitTransaction(db, () => owner, () => {});
});

afterEach(() => {
  tx.commit();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** As event `by`: a write, then an output named `name`. */
function writeAndSend(by: TransactionOwner, name: string): void {
  owner = by;
  try {
    tx.join();
    db.prepare("INSERT INTO t (v) VALUES (?)").run(name);
    send(name);
  } finally {
    owner = undefined;
  }
}

function send(name: string): void {
  tx.output(
    () => fate.push(`sent ${name}`),
    () => fate.push(`dropped ${name}`),
  );
}

describe("held output that will never be sent", () => {
  it("is dropped with the event that failed, while its neighbour's is sent at the commit", () => {
    const a = {};
    const b = {};
    writeAndSend(a, "a");
    tx.endEvent(a, false);
    writeAndSend(b, "b");
    tx.endEvent(b, true);
    expect(fate).toEqual(["dropped b"]);
    tx.commit();
    expect(fate).toEqual(["dropped b", "sent a"]);
  });

  it("is dropped with a transaction() closure that is undone, and what was sent before it stays", () => {
    const a = {};
    writeAndSend(a, "before");
    owner = a;
    const savepoint = tx.beginExplicit();
    send("inside");
    tx.endExplicit(savepoint, false);
    owner = undefined;
    tx.endEvent(a, false);
    tx.commit();
    expect(fate).toEqual(["dropped inside", "sent before"]);
  });

  it("is all dropped when SQLite undoes the turn itself, and output of the event afterwards is dropped at once", async () => {
    db.exec("CREATE TABLE once (v TEXT UNIQUE ON CONFLICT ROLLBACK); INSERT INTO once VALUES ('taken')");
    const a = {};
    writeAndSend(a, "a");
    owner = a;
    expect(() => db.prepare("INSERT INTO once VALUES ('taken')").run()).toThrow(/UNIQUE/);
    tx.noticeRollback();
    expect(fate).toEqual(["dropped a"]);
    send("after the loss");
    owner = undefined;
    expect(fate).toEqual(["dropped a", "dropped after the loss"]);
    await expect(tx.endEvent(a, false)).rejects.toThrow(/rolled back/);
  });

  it("is dropped when the commit before it fails to replicate", async () => {
    const releases = new ReleaseQueue();
    let fail!: (error: Error) => void;
    const replicated = new Promise<void>((_resolve, reject) => (fail = reject));
    const durable = { resolve: () => {}, reject: () => {} };
    releases.add(replicated, [{ send: () => fate.push("sent held"), dropped: () => fate.push("dropped held") }], durable, []);
    releases.output({ send: () => fate.push("sent later"), dropped: () => fate.push("dropped later") });
    fail(new Error("the replica is gone"));
    await releases.whenReleased(undefined)?.catch(() => {});
    expect(fate).toEqual(["dropped held", "dropped later"]);
  });
});
