import { AsyncLocalStorage } from "node:async_hooks";
import { mkdtempSync, rmSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AgentDatabase } from "../../src/storage/database.ts";
import { DurableObjectStorage, type AlarmSlot, type DurableObjectTransaction } from "../../src/storage/durable-storage.ts";

/** Events as the host's mailbox runs them: each owns its writes, kept if it succeeds, undone if it fails. */
const events = new AsyncLocalStorage<object>();
let dir: string;
let db: AgentDatabase;
let storage: DurableObjectStorage;
let failAlarmSet = false;
/** An alarm time in the future (one in the past is stored as now). */
const LATER = 4_000_000_000_000;

/** The alarm as the host keeps it: a row of the object's own database (undone with a transaction). */
function alarmSlot(): AlarmSlot {
  db.execScript("CREATE TABLE IF NOT EXISTS test_alarm (at INTEGER)");
  return {
    get: () => (db.statement("SELECT at FROM test_alarm").get()?.at as number | undefined) ?? null,
    set: (at) => {
      if (failAlarmSet) throw new Error("alarm store unavailable");
      db.statement("DELETE FROM test_alarm").run();
      db.statement("INSERT INTO test_alarm VALUES (?)").run(at);
    },
    delete: () => void db.statement("DELETE FROM test_alarm").run(),
  };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "hearth-do-txn-"));
  db = new AgentDatabase({ path: join(dir, "txn.sqlite"), durability: "relaxed", identity: "txn/a", currentOwner: () => events.getStore() });
  failAlarmSet = false;
  storage = new DurableObjectStorage(db, { alarms: alarmSlot() });
  db.flush();
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

async function event<T>(fn: () => Promise<T>): Promise<T> {
  const owner = {};
  return events.run(owner, async () => {
    let result: T;
    try {
      result = await fn();
    } catch (error) {
      await db.endEvent(owner, true);
      throw error;
    }
    await db.endEvent(owner, false);
    return result;
  });
}

/** Lets the event loop run whole turns, as outside I/O would (the host commits at each). */
async function turns(count = 3): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

async function stored(): Promise<Record<string, unknown>> {
  return Object.fromEntries(await storage.list());
}

/** The alarm as stored. */
function alarm(): number | null {
  return (db.statement("SELECT at FROM test_alarm").get()?.at as number | undefined) ?? null;
}

/** What another connection reads from the file once `db` is closed: what was committed. */
function committedKeys(): string[] {
  const reader = new DatabaseSync(join(dir, "txn.sqlite"), { readOnly: true });
  try {
    return reader.prepare("SELECT key FROM _hearth_kv ORDER BY key").all().map((row) => String(row.key));
  } finally {
    reader.close();
  }
}

describe("transaction", () => {
  it("commits the closure's writes together and resolves with its result", async () => {
    await storage.put({ keep: 1, gone: 2 });
    const result = await event(() =>
      storage.transaction(async (txn) => {
        await txn.put("a", 1);
        await txn.put({ b: 2, c: 3 });
        expect(await txn.delete("gone")).toBe(true);
        expect(await txn.delete(["c", "nope"])).toBe(1);
        return "done";
      }),
    );
    expect(result).toBe("done");
    expect(await stored()).toEqual({ a: 1, b: 2, keep: 1 });
  });

  it("lets the closure read its own writes over the stored ones", async () => {
    await storage.put({ a: "old", b: "old", c: "old", d: "old" });
    await storage.transaction(async (txn) => {
      await txn.put({ a: "new", bb: "new", e: "new" });
      await txn.delete(["b", "d"]);
      expect(await txn.get("a")).toBe("new");
      expect(await txn.get("b")).toBeUndefined();
      expect([...(await txn.get(["e", "a", "b", "c"])).entries()]).toEqual([
        ["a", "new"],
        ["c", "old"],
        ["e", "new"],
      ]);
      expect(Object.fromEntries(await txn.list())).toEqual({ a: "new", bb: "new", c: "old", e: "new" });
      expect([...(await txn.list({ limit: 2 })).keys()]).toEqual(["a", "bb"]);
      expect([...(await txn.list({ reverse: true, limit: 3 })).keys()]).toEqual(["e", "c", "bb"]);
      expect([...(await txn.list({ prefix: "b" })).keys()]).toEqual(["bb"]);
      expect([...(await txn.list({ startAfter: "a", end: "e" })).keys()]).toEqual(["bb", "c"]);
      // The synchronous kv reads the same database, inside the transaction (as on Cloudflare).
      expect(storage.kv.get("a")).toBe("new");
    });
    expect(await stored()).toEqual({ a: "new", bb: "new", c: "old", e: "new" });
  });

  it("undoes everything when the closure throws, and rejects with its error", async () => {
    await storage.put("a", 1);
    let kept: DurableObjectTransaction | undefined;
    const failure = new Error("changed my mind");
    await expect(
      storage.transaction(async (txn) => {
        kept = txn;
        await txn.put("a", 2);
        await txn.put("b", 3);
        await storage.put("direct", 4); // direct calls inside the closure are part of it
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await stored()).toEqual({ a: 1 });
    await expect(kept!.put("c", 1)).rejects.toThrow(new Error("Cannot put() on rolled back transaction"));
  });

  it("rollback() undoes the writes, resolves with the closure's result, and refuses later calls", async () => {
    await storage.put("a", 1);
    const result = await storage.transaction(async (txn) => {
      await txn.put("a", 2);
      await txn.setAlarm(LATER);
      txn.rollback();
      txn.rollback(); // again: nothing
      await expect(txn.get("a")).rejects.toThrow(new Error("Cannot get() on rolled back transaction"));
      await expect(txn.list()).rejects.toThrow("Cannot list() on rolled back transaction");
      await expect(txn.getAlarm()).rejects.toThrow("Cannot getAlarm() on rolled back transaction");
      // After a rollback, direct calls are no longer part of the transaction.
      await storage.put("after", true);
      return "rolled back";
    });
    expect(result).toBe("rolled back");
    expect(await stored()).toEqual({ a: 1, after: true });
    expect(alarm()).toBeNull();
  });

  it("refuses a txn used after its closure finished", async () => {
    let escaped: DurableObjectTransaction | undefined;
    await storage.transaction(async (txn) => {
      escaped = txn;
    });
    const committed = "on transaction that has already committed: did you move `txn` outside of the closure?";
    await expect(escaped!.get("a")).rejects.toThrow(new Error(`Cannot call get() ${committed}`));
    await expect(escaped!.put("a", 1)).rejects.toThrow(`Cannot call put() ${committed}`);
    await expect(escaped!.delete(["a"])).rejects.toThrow(`Cannot call delete() ${committed}`);
    await expect(escaped!.setAlarm(5)).rejects.toThrow(`Cannot call setAlarm() ${committed}`);
    await expect(escaped!.deleteAlarm()).rejects.toThrow(`Cannot call deleteAlarm() ${committed}`);
    expect(() => escaped!.rollback()).toThrow(`Cannot call rollback() ${committed}`);
    expect(await stored()).toEqual({});
  });

  it("refuses deleteAll inside a transaction, on txn and on the storage", async () => {
    await storage.put("a", 1);
    await storage.transaction(async (txn) => {
      expect(() => txn.deleteAll()).toThrow(new Error("Cannot call deleteAll() within a transaction"));
      await expect(storage.deleteAll()).rejects.toThrow(new Error("Cannot call deleteAll() within a transaction"));
    });
    expect(await stored()).toEqual({ a: 1 });
  });

  it("makes direct storage calls inside the closure part of it, reads included", async () => {
    await storage.transaction(async (txn) => {
      await storage.put("x", 1);
      expect(await txn.get("x")).toBe(1);
      await txn.put("y", 2);
      expect(await storage.get("y")).toBe(2);
      expect(storage.kv.get("y")).toBe(2); // the synchronous kv too: one database
      expect(await storage.delete("x")).toBe(true);
    });
    expect(await stored()).toEqual({ y: 2 });
  });

  it("nests: an inner transaction lands in the outer one and goes with it", async () => {
    await expect(
      storage.transaction(async (outer) => {
        await outer.put("outer", 1);
        await storage.transaction(async (inner) => {
          expect(await inner.get("outer")).toBe(1);
          await inner.put("inner", 2);
        });
        await expect(
          storage.transaction(async (inner) => {
            await inner.put("failed-inner", 3);
            throw new Error("inner fails");
          }),
        ).rejects.toThrow("inner fails");
        expect(await outer.get("inner")).toBe(2);
        expect(await outer.get("failed-inner")).toBeUndefined();
        expect(storage.kv.get("inner")).toBe(2);
        throw new Error("outer fails");
      }),
    ).rejects.toThrow("outer fails");
    expect(await stored()).toEqual({});

    await storage.transaction(async () => {
      await storage.transaction(async (inner) => inner.put("inner", 2));
    });
    expect(await stored()).toEqual({ inner: 2 });
  });

  it("sets and deletes the alarm with the transaction", async () => {
    await storage.setAlarm(LATER);
    await storage.transaction(async (txn) => {
      await txn.deleteAlarm();
      expect(await txn.getAlarm()).toBeNull();
    });
    expect(alarm()).toBeNull();
    await storage.transaction(async (txn) => {
      await txn.setAlarm(new Date(LATER + 1));
      expect(await txn.getAlarm()).toBe(LATER + 1);
      await expect(txn.setAlarm(-1)).rejects.toThrow("setAlarm() cannot be called with an alarm time <= 0");
    });
    expect(alarm()).toBe(LATER + 1);
    await expect(
      storage.transaction(async (txn) => {
        await txn.setAlarm(LATER + 2);
        throw new Error("undone");
      }),
    ).rejects.toThrow("undone");
    expect(alarm()).toBe(LATER + 1);
  });

  it("refuses a failing write at the call; let through, the error undoes the others", async () => {
    failAlarmSet = true;
    await expect(
      event(() =>
        storage.transaction(async (txn) => {
          await txn.put({ a: 1, b: 2 });
          await txn.setAlarm(LATER);
        }),
      ),
    ).rejects.toThrow("alarm store unavailable");
    expect(await stored()).toEqual({});
  });

  it("undoes its SQL with its other writes, on a throw and on rollback()", async () => {
    storage.sql.exec("CREATE TABLE notes (text TEXT)");
    const notes = () => storage.sql.exec<{ text: string }>("SELECT text FROM notes").toArray().map((row) => row.text);
    await expect(
      event(() =>
        storage.transaction(async (txn) => {
          storage.sql.exec("INSERT INTO notes VALUES ('should be undone')");
          await txn.put("a", 1);
          throw new Error("abort");
        }),
      ),
    ).rejects.toThrow("abort");
    await event(() =>
      storage.transaction(async (txn) => {
        storage.sql.exec("INSERT INTO notes VALUES ('rolled back')");
        storage.kv.put("b", 2);
        txn.rollback();
        storage.sql.exec("INSERT INTO notes VALUES ('after the rollback')");
      }),
    );
    expect(notes()).toEqual(["after the rollback"]);
    expect(await stored()).toEqual({});
  });

  it("runs transactionSync inside, and refuses transaction() inside transactionSync", async () => {
    await storage.transaction(async (txn) => {
      storage.transactionSync(() => storage.kv.put("sync", 1));
      expect(() =>
        storage.transactionSync(() => {
          storage.kv.put("sync-undone", 1);
          throw new Error("sync undo");
        }),
      ).toThrow("sync undo");
      expect(await txn.get("sync")).toBe(1);
    });
    expect(await stored()).toEqual({ sync: 1 });
    let inner: Promise<unknown> | undefined;
    storage.transactionSync(() => {
      inner = storage.transaction(async () => 1);
    });
    await expect(inner).rejects.toThrow("transaction() cannot be called inside transactionSync()");
  });

  it("checks limits at the call: the closure can catch a refused write and go on", async () => {
    await storage.transaction(async (txn) => {
      await expect(txn.put("k".repeat(2049), 1)).rejects.toThrow("Keys cannot be larger than 2048 bytes.");
      await expect(txn.put("k", undefined)).rejects.toThrow("put() called with undefined value.");
      await txn.put("k", 1);
    });
    expect(await stored()).toEqual({ k: 1 });
  });

  it("refuses something that is not a function", async () => {
    await expect(storage.transaction(undefined as never)).rejects.toThrow(new TypeError("transaction() takes a function: transaction(async (txn) => { … })"));
  });

  it("returns synchronous closure results and errors as promises", async () => {
    expect(await storage.transaction((() => 7) as never)).toBe(7);
    await expect(
      storage.transaction((() => {
        throw new Error("sync throw");
      }) as never),
    ).rejects.toThrow("sync throw");
  });
});

describe("transaction awaiting outside I/O", () => {
  it("commits nothing of the closure before it ends: not at the end of a turn, nor when its event yields", async () => {
    let release!: () => void;
    const io = new Promise<void>((resolve) => (release = resolve));
    const running = event(() =>
      storage.transaction(async (txn) => {
        await txn.put("txn-1", 1);
        await io; // outside I/O: whole turns pass
        await txn.put("txn-2", 2);
      }),
    );
    let committed = false;
    void db.whenCommitted()!.then(() => (committed = true));
    await turns();
    db.flush(); // what the mailbox does when an event waits on outside I/O
    await turns();
    expect(committed).toBe(false);
    expect(db.busy).toBe(true); // and the connection cannot be parked meanwhile
    expect(db.park()).toBe(false);
    release();
    await running;
    expect(committed).toBe(true);
    db.close();
    expect(committedKeys()).toEqual(["txn-1", "txn-2"]);
    db = new AgentDatabase({ path: join(dir, "txn.sqlite"), durability: "relaxed", identity: "txn/a", currentOwner: () => events.getStore() });
  });

  it("makes async calls from outside the closure wait for it, and refuses other events' SQL meanwhile", async () => {
    let release!: () => void;
    const io = new Promise<void>((resolve) => (release = resolve));
    const first = event(() =>
      storage.transaction(async (txn) => {
        const n = (await txn.get<number>("n")) ?? 0;
        await io;
        await txn.put("n", n + 1);
      }),
    );
    await turns();
    const other = event(async () => {
      expect(() => storage.kv.get("n")).toThrow("Storage is inside another event's ctx.storage.transaction()");
      const n = (await storage.get<number>("n")) ?? 0; // waits for the transaction
      await storage.put("n", n + 1);
    });
    await turns();
    release();
    await Promise.all([first, other]);
    expect(await stored()).toEqual({ n: 2 });
  });

  it("runs transactions one at a time, even two of one event", async () => {
    const order: string[] = [];
    const slow = async (name: string) => {
      order.push(`${name} starts`);
      await turns();
      order.push(`${name} ends`);
    };
    await event(() => Promise.all([storage.transaction(() => slow("a")), storage.transaction(() => slow("b"))]));
    expect(order).toEqual(["a starts", "a ends", "b starts", "b ends"]);
  });

  it("keeps the writes before it when the connection closes with the closure still open, and undoes the closure's", async () => {
    await event(() => storage.put("committed", 1));
    const owner = {};
    const never = new Promise<void>(() => {});
    void events.run(owner, async () => {
      await storage.put("before", 1);
      void storage.transaction(async (txn) => {
        await txn.put("inside", 1);
        await never;
      });
    });
    await turns();
    db.close();
    expect(committedKeys()).toEqual(["before", "committed"]);
    db = new AgentDatabase({ path: join(dir, "txn.sqlite"), durability: "relaxed", identity: "txn/a", currentOwner: () => events.getStore() });
  });

  it("loses the whole closure, never half of it, when SQLite rolls the transaction back on its own", async () => {
    storage.sql.exec("CREATE TABLE u (id INTEGER PRIMARY KEY)");
    storage.sql.exec("INSERT INTO u VALUES (1)");
    db.flush();
    const result = event(() =>
      storage.transaction(async (txn) => {
        await txn.put("a", 1);
        expect(() => storage.sql.exec("INSERT OR ROLLBACK INTO u VALUES (1)")).toThrow("UNIQUE");
        await txn.put("b", 2);
      }),
    );
    await expect(result).rejects.toThrow("this event's writes were rolled back");
    expect(await stored()).toEqual({});
    expect(storage.sql.exec("SELECT count(*) AS n FROM u").one().n).toBe(1);
  });

  it("is part of its event: when the event fails afterwards, the transaction's writes go with it", async () => {
    await expect(
      event(async () => {
        await storage.transaction(async (txn) => txn.put("a", 1));
        expect(await storage.get("a")).toBe(1);
        throw new Error("the handler fails later");
      }),
    ).rejects.toThrow("the handler fails later");
    expect(await stored()).toEqual({});
  });
});
