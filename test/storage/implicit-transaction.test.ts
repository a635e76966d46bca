import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ImplicitTransaction, type TransactionOwner } from "../../src/storage/implicit-transaction.ts";

let dir: string;
let db: DatabaseSync;
let owner: TransactionOwner;
let rollbacks: number;
/** Runs of each statement the transaction prepared, by SQL. */
let runs: Record<string, number>;
let tx: ImplicitTransaction;

/** The database as the transaction sees it, counting the runs of the statements it prepares. */
function counting(real: DatabaseSync): DatabaseSync {
  return new Proxy(real, {
    get(target, key) {
      if (key !== "prepare") return Reflect.get(target, key, target) as unknown;
      return (sql: string) => {
        const statement = target.prepare(sql);
        return new Proxy(statement, {
          get(st, name) {
            if (name !== "run") return Reflect.get(st, name, st) as unknown;
            return (...args: never[]) => {
              runs[sql] = (runs[sql] ?? 0) + 1;
              return st.run(...args);
            };
          },
        });
      };
    },
  });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "hearth-tx-"));
  db = new DatabaseSync(join(dir, "t.sqlite"));
  db.exec("PRAGMA journal_mode = WAL; CREATE TABLE t (v TEXT NOT NULL)");
  owner = undefined;
  rollbacks = 0;
  runs = {};
  tx = new ImplicitTransaction(counting(db), () => owner, () => rollbacks++);
});

afterEach(() => {
  tx.commit();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function write(by: TransactionOwner, value: string): void {
  owner = by;
  try {
    tx.join();
    db.prepare("INSERT INTO t (v) VALUES (?)").run(value);
  } finally {
    owner = undefined;
  }
}

/** What a fresh connection reads: committed rows only. */
function committed(): string[] {
  const reader = new DatabaseSync(join(dir, "t.sqlite"), { readOnly: true });
  try {
    return reader.prepare("SELECT v FROM t ORDER BY rowid").all().map((row) => row.v as string);
  } finally {
    reader.close();
  }
}

describe("ImplicitTransaction", () => {
  it("the event that opens a turn's transaction runs no savepoint of its own; the next one does", () => {
    const a = {};
    const b = {};
    write(a, "a");
    expect(tx.endEvent(a, false)).toBeInstanceOf(Promise);
    write(b, "b");
    tx.endEvent(b, false);
    tx.commit();
    expect(committed()).toEqual(["a", "b"]);
    expect(runs).toEqual({ BEGIN: 1, "SAVEPOINT hearth_event": 1, "RELEASE hearth_event": 1, COMMIT: 1 });
  });

  it("a failing first event leaves nothing, and the events after it in the turn still commit", async () => {
    const a = {};
    const b = {};
    write(a, "a1");
    write(a, "a2");
    const durable = tx.endEvent(a, true);
    expect(rollbacks).toBe(1);
    write(b, "b");
    tx.endEvent(b, false);
    tx.commit();
    await durable;
    expect(committed()).toEqual(["b"]);
  });

  it("a failing later event takes only its own writes with it", () => {
    const a = {};
    const b = {};
    write(a, "a");
    tx.endEvent(a, false);
    write(b, "b");
    tx.endEvent(b, true);
    tx.commit();
    expect(committed()).toEqual(["a"]);
  });

  it("writes from outside any event made while the first event runs go with it, as in a savepoint; their output does not", () => {
    const a = {};
    const sent: string[] = [];
    write(a, "a");
    owner = a;
    tx.output(() => sent.push("a's frame"));
    owner = undefined;
    write(undefined, "outside");
    tx.output(() => sent.push("outside frame"));
    tx.endEvent(a, true);
    tx.commit();
    expect(committed()).toEqual([]);
    expect(sent).toEqual(["outside frame"]);
  });

  it("an event that commits while it runs (waiting on outside I/O) and then fails keeps what was committed", () => {
    const a = {};
    write(a, "before");
    tx.commit();
    write(a, "after");
    tx.endEvent(a, true);
    tx.commit();
    expect(committed()).toEqual(["before"]);
  });

  it("rollbackCurrent undoes the first event's writes so far; what it writes afterwards commits", () => {
    const a = {};
    write(a, "undone");
    owner = a;
    tx.rollbackCurrent();
    owner = undefined;
    write(a, "kept");
    tx.endEvent(a, false);
    tx.commit();
    expect(committed()).toEqual(["kept"]);
    expect(rollbacks).toBe(1);
  });

  describe("when SQLite rolls the transaction back itself inside an event that catches the error", () => {
    beforeEach(() => db.exec("CREATE TABLE once (v TEXT UNIQUE ON CONFLICT ROLLBACK); INSERT INTO once VALUES ('taken')"));

    function collide(by: TransactionOwner): void {
      owner = by;
      tx.join();
      expect(() => db.prepare("INSERT INTO once VALUES ('taken')").run()).toThrow(/UNIQUE/);
      owner = undefined;
    }

    it("the event is told its writes were rolled back; a later event of the turn commits and sends its output", async () => {
      const a = {};
      const b = {};
      const sent: string[] = [];
      write(a, "a");
      collide(a);
      const aDurable = tx.endEvent(a, false);
      write(b, "b");
      owner = b;
      tx.output(() => sent.push("b's frame"));
      owner = undefined;
      const bDurable = tx.endEvent(b, false);
      tx.commit();
      await expect(aDurable).rejects.toThrow(/rolled back/);
      await bDurable;
      expect(committed()).toEqual(["b"]);
      expect(sent).toEqual(["b's frame"]);
    });

    it("the event runs no statement after the loss, and its output is dropped", async () => {
      const a = {};
      const sent: string[] = [];
      write(a, "before");
      collide(a);
      expect(() => write(a, "after")).toThrow(/rolled back/);
      owner = a;
      tx.output(() => sent.push("a's frame"));
      owner = undefined;
      await expect(tx.endEvent(a, false)).rejects.toThrow(/rolled back/);
      tx.commit();
      expect(committed()).toEqual([]);
      expect(sent).toEqual([]);
    });

    it("nor after a commit in between (an event that awaits outside I/O): nothing it does afterwards is committed or sent", async () => {
      const a = {};
      const sent: string[] = [];
      write(a, "before");
      collide(a);
      expect(() => tx.commit()).toThrow(/rolled back/); // the yield's flush finds the loss
      expect(() => write(a, "after")).toThrow(/rolled back/);
      owner = a;
      tx.output(() => sent.push("a's frame"));
      owner = undefined;
      write({}, "other"); // another event's turn commits
      tx.commit();
      await expect(tx.endEvent(a, false)).rejects.toThrow(/rolled back/);
      expect(committed()).toEqual(["other"]);
      expect(sent).toEqual([]);
    });

    it("a trigger's RAISE(ROLLBACK) in the turn's second event fails both events of the turn", async () => {
      db.exec("CREATE TRIGGER no_b BEFORE INSERT ON t WHEN NEW.v = 'b' BEGIN SELECT RAISE(ROLLBACK, 'no b'); END");
      const a = {};
      const b = {};
      write(a, "a");
      const aDurable = tx.endEvent(a, false);
      expect(() => write(b, "b")).toThrow(/no b/);
      await expect(tx.endEvent(b, false)).rejects.toThrow(/rolled back/);
      await expect(aDurable).rejects.toThrow(/rolled back/);
      tx.commit();
      expect(committed()).toEqual([]);
    });
  });
});
