import { AsyncLocalStorage } from "node:async_hooks";
import { mkdtempSync, rmSync } from "node:fs";
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
let alarm: number | null;
let failAlarmSet = false;
/** An alarm time in the future (one in the past is stored as now). */
const LATER = 4_000_000_000_000;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "hearth-do-txn-"));
  db = new AgentDatabase({ path: join(dir, "txn.sqlite"), durability: "relaxed", identity: "txn/a", currentOwner: () => events.getStore() });
  alarm = null;
  failAlarmSet = false;
  const alarms: AlarmSlot = {
    get: () => alarm,
    set: (at) => {
      if (failAlarmSet) throw new Error("alarm store unavailable");
      alarm = at;
    },
    delete: () => void (alarm = null),
  };
  storage = new DurableObjectStorage(db, { alarms });
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
      // Stored data is unchanged until the closure ends.
      expect(storage.kv.get("a")).toBe("old");
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
    expect(alarm).toBeNull();
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
      expect(storage.kv.get("y")).toBeUndefined(); // the synchronous kv reads what is stored
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
        expect(storage.kv.get("inner")).toBeUndefined();
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
      expect(alarm).toBe(LATER);
    });
    expect(alarm).toBeNull();
    await storage.transaction(async (txn) => {
      await txn.setAlarm(new Date(LATER + 1));
      expect(await txn.getAlarm()).toBe(LATER + 1);
      await expect(txn.setAlarm(-1)).rejects.toThrow("setAlarm() cannot be called with an alarm time <= 0");
    });
    expect(alarm).toBe(LATER + 1);
  });

  it("applies all or nothing: a write that fails while applying undoes the others", async () => {
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

describe("transaction awaiting outside I/O while other events run", () => {
  it("keeps another event's writes when it rolls back, and hides its own until it ends", async () => {
    let release!: () => void;
    const io = new Promise<void>((resolve) => (release = resolve));
    const first = event(() =>
      storage.transaction(async (txn) => {
        await txn.put("txn-1", 1);
        await io; // outside I/O: whole turns pass, the host commits, other events run
        await txn.put("txn-2", 2);
        throw new Error("abandoned after the I/O");
      }),
    );
    await turns();
    db.flush(); // what the mailbox does when an event waits on outside I/O
    await event(async () => {
      expect(await storage.get("txn-1")).toBeUndefined();
      await storage.put("other", "kept");
    });
    await turns();
    release();
    await expect(first).rejects.toThrow("abandoned after the I/O");
    expect(await stored()).toEqual({ other: "kept" });
  });

  it("lands whole after the I/O, beside what other events wrote meanwhile", async () => {
    let release!: () => void;
    const io = new Promise<void>((resolve) => (release = resolve));
    const first = event(() =>
      storage.transaction(async (txn) => {
        await txn.put("txn-1", 1);
        await io;
        expect(await txn.get("other")).toBe("kept"); // not isolated from committed writes
        await txn.put("txn-2", 2);
        return "ok";
      }),
    );
    await turns();
    db.flush();
    await event(() => storage.put("other", "kept"));
    const second = event(() =>
      storage.transaction(async (txn) => {
        await txn.put("second", 3);
        expect(await txn.get("txn-1")).toBeUndefined(); // the first is still running
        await turns();
        expect(await txn.get("txn-1")).toBe(1); // committed meanwhile
      }),
    );
    release();
    expect(await first).toBe("ok");
    await second;
    expect(await stored()).toEqual({ other: "kept", second: 3, "txn-1": 1, "txn-2": 2 });
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
