import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serialize } from "node:v8";
import { afterEach, describe, expect, it } from "vitest";
import { AgentDatabase } from "../../src/storage/database.ts";
import { DurableObjectStorage, type AlarmSlot } from "../../src/storage/durable-storage.ts";
import { DURABLE_STORAGE_LIMITS } from "../../src/storage/storage-limits.ts";

const dirs: string[] = [];
const open: AgentDatabase[] = [];
afterEach(() => {
  for (const db of open.splice(0)) db.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The alarm as the host would keep it; the storage only validates and forwards. */
class AlarmRecord implements AlarmSlot {
  at: number | null = null;
  get(): number | null {
    return this.at;
  }
  set(scheduledTime: number): void {
    this.at = scheduledTime;
  }
  delete(): void {
    this.at = null;
  }
}

function openStorage(dir = mkdtempSync(join(tmpdir(), "hearth-do-storage-"))) {
  if (!dirs.includes(dir)) dirs.push(dir);
  const db = new AgentDatabase({ path: join(dir, "room.sqlite"), durability: "relaxed", identity: "room/a", currentOwner: () => undefined });
  open.push(db);
  const alarms = new AlarmRecord();
  return { dir, db, alarms, storage: new DurableObjectStorage(db, { alarms }) };
}

describe("get / put / delete", () => {
  it("stores structured-clone values and reads them back", async () => {
    const { storage } = openStorage();
    const value = { name: "Ada", joined: new Date(5), tags: new Set(["x"]), scores: new Map([["a", 1]]), bytes: new Uint8Array([1, 2]) };
    await storage.put("user", value);
    const back = await storage.get<typeof value>("user");
    expect(back).toEqual(value);
    expect(back!.joined).toBeInstanceOf(Date);
    expect(await storage.get("missing")).toBeUndefined();
    // A copy: changing what was stored, or what was read, changes nothing stored.
    value.name = "changed";
    back!.name = "changed too";
    expect((await storage.get<typeof value>("user"))!.name).toBe("Ada");
    expect(await storage.delete("user")).toBe(true);
    expect(await storage.delete("user")).toBe(false);
    expect(await storage.get("user")).toBeUndefined();
  });

  it("reads typed arrays back as copies that own their bytes, as a structured clone does", async () => {
    const { storage } = openStorage();
    const bytes = new Uint8Array([1, 2, 3]);
    // One byte in, so Node's reader would hand back an unaligned Float64Array over its shared pool.
    await storage.put("views", { bytes, floats: new Float64Array([1.5, -2]), view: new DataView(new Uint8Array([7, 8]).buffer), buffer: Buffer.from("hi") });
    await storage.put("bytes", bytes);
    const views = (await storage.get<{ bytes: Uint8Array; floats: Float64Array; view: DataView; buffer: Buffer }>("views"))!;
    for (const view of [views.bytes, views.floats, views.view, views.buffer, (await storage.get<Uint8Array>("bytes"))!]) {
      expect(view.byteOffset).toBe(0);
      expect(view.buffer.byteLength).toBe(view.byteLength);
    }
    expect([...new Uint8Array(views.bytes.buffer)]).toEqual([1, 2, 3]);
    expect([...new Float64Array(views.floats.buffer)]).toEqual([1.5, -2]);
    expect(views.view.getUint8(1)).toBe(8);
    expect(views.buffer.toString()).toBe("hi");
    expect(new Uint8Array((await storage.list<Uint8Array>()).get("bytes")!.buffer)).toEqual(bytes);
  });

  it("has batch forms: get(keys) returns a Map in key order without the missing, delete(keys) a count", async () => {
    const { storage } = openStorage();
    await storage.put({ b: 2, a: 1, c: 3, skipped: undefined });
    const found = await storage.get<number>(["c", "missing", "a", "b", "a"]);
    expect([...found]).toEqual([
      ["a", 1],
      ["b", 2],
      ["c", 3],
    ]);
    expect(await storage.get("skipped")).toBeUndefined();
    expect(await storage.get([])).toEqual(new Map());
    expect(await storage.delete(["a", "missing", "b", "a"])).toBe(2);
    expect([...(await storage.list()).keys()]).toEqual(["c"]);
    expect(await storage.delete([])).toBe(0);
  });

  it("orders get(keys) by UTF-8 bytes, as list does", async () => {
    const { storage } = openStorage();
    const keys = ["\u{1F600}", "\uFFFD", "z", "é", "A"];
    await storage.put(Object.fromEntries(keys.map((key) => [key, key])));
    const ordered = ["A", "z", "é", "\uFFFD", "\u{1F600}"];
    expect([...(await storage.get(keys)).keys()]).toEqual(ordered);
    expect([...(await storage.list()).keys()]).toEqual(ordered);
  });

  it("accepts allowConcurrency, allowUnconfirmed and noCache, which change nothing", async () => {
    const { storage } = openStorage();
    await storage.put("k", 1, { allowUnconfirmed: true, noCache: true, allowConcurrency: true });
    await storage.put({ j: 2 }, { allowUnconfirmed: true });
    expect(await storage.get("k", { allowConcurrency: true, noCache: true })).toBe(1);
    expect(await storage.get(["j"], { noCache: true })).toEqual(new Map([["j", 2]]));
    expect((await storage.list({ allowConcurrency: true, noCache: true })).size).toBe(2);
    expect(await storage.delete("k", { allowUnconfirmed: true })).toBe(true);
    expect(await storage.delete(["j"], { noCache: true })).toBe(1);
  });

  it("refuses bad arguments with Cloudflare's errors, as rejected promises", async () => {
    const { storage } = openStorage();
    await expect(storage.put("k", undefined)).rejects.toThrow(new TypeError("put() called with undefined value."));
    await expect(storage.put({ a: 1 }, 5 as never)).rejects.toThrow(
      "put() may only be called with a single key-value pair and optional options as put(key, value, options) or with multiple key-value pairs and optional options as put(entries, options)",
    );
    await expect(storage.put(7 as never, 1)).rejects.toThrow(new TypeError("put(): the first argument is a key (string) or an object of entries, got number"));
    await expect(storage.put(["a"] as never, 1)).rejects.toThrow("got an array");
    await expect(storage.get(3 as never)).rejects.toThrow(new TypeError("get(): the first argument is a key (string) or an array of keys, got number"));
    await expect(storage.get(["a", 1] as never)).rejects.toThrow(new TypeError("get(): keys are strings, got number"));
    await expect(storage.delete(null as never)).rejects.toThrow(new TypeError("delete(): the first argument is a key (string) or an array of keys, got null"));
    await expect(storage.delete([undefined] as never)).rejects.toThrow(new TypeError("delete(): keys are strings, got undefined"));
    // Values must survive structured cloning; in a batch, one that does not refuses the batch.
    await expect(storage.put("fn", () => 1)).rejects.toThrow(/could not be cloned/);
    await expect(storage.put({ fine: 1, symbol: Symbol("s") })).rejects.toThrow(/could not be cloned/);
    expect(await storage.list()).toEqual(new Map());
  });

  it("sees the same entries as the synchronous ctx.storage.kv", async () => {
    const { storage } = openStorage();
    storage.kv.put("from-kv", { n: 1 });
    await storage.put("from-async", [1, 2]);
    expect(await storage.get("from-kv")).toEqual({ n: 1 });
    expect(storage.kv.get("from-async")).toEqual([1, 2]);
    expect([...storage.kv.list({ startAfter: "from-async" }).keys()]).toEqual(["from-kv"]);
    expect(storage.kv.delete("from-async")).toBe(true);
    expect(await storage.get("from-async")).toBeUndefined();
    expect(() => storage.kv.list({ start: "a", startAfter: "b" })).toThrow("list() cannot be called with both start and startAfter values.");
  });

  it("keeps its data when the file is reopened", async () => {
    const first = openStorage();
    await first.storage.put({ a: 1, b: new Date(7) });
    first.storage.sql.exec("CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('hi')");
    first.db.close();
    const again = openStorage(first.dir);
    expect(await again.storage.get(["a", "b"])).toEqual(new Map<string, unknown>([["a", 1], ["b", new Date(7)]]));
    expect(again.storage.sql.exec("SELECT text FROM notes").one()).toEqual({ text: "hi" });
  });

  it("transactionSync undoes SQL and key-value writes of a block that throws", async () => {
    const { storage } = openStorage();
    storage.sql.exec("CREATE TABLE t (v INTEGER)");
    expect(storage.transactionSync(() => 42)).toBe(42);
    expect(() =>
      storage.transactionSync(() => {
        storage.sql.exec("INSERT INTO t VALUES (1)");
        storage.kv.put("k", 1);
        throw new Error("undo");
      }),
    ).toThrow("undo");
    expect(storage.sql.exec("SELECT count(*) AS n FROM t").one()).toEqual({ n: 0 });
    expect(await storage.get("k")).toBeUndefined();
  });
});

describe("limits", () => {
  const { maxKeysPerCall, maxKeyBytes, maxEntryBytes } = DURABLE_STORAGE_LIMITS;

  it("are Cloudflare's values", () => {
    expect(DURABLE_STORAGE_LIMITS).toEqual({ maxKeysPerCall: 128, maxKeyBytes: 2048, maxEntryBytes: 2 * 1024 * 1024 });
  });

  it("takes at most 128 keys per batch call, and refuses more with nothing stored or deleted", async () => {
    const { storage } = openStorage();
    const keys = Array.from({ length: maxKeysPerCall }, (_, i) => `k${String(i).padStart(3, "0")}`);
    await storage.put(Object.fromEntries(keys.map((key) => [key, 1])));
    expect((await storage.get(keys)).size).toBe(128);
    const tooMany = [...keys, "one more"];
    const message = "Maximum number of key value pairs is 128. 129 pairs were provided.";
    await expect(storage.get(tooMany)).rejects.toThrow(new RangeError(message));
    await expect(storage.delete(tooMany)).rejects.toThrow(new RangeError(message));
    await expect(storage.put(Object.fromEntries(tooMany.map((key) => [key, 2])))).rejects.toThrow(new RangeError(message));
    expect((await storage.list()).size).toBe(128);
    expect(await storage.get("k000")).toBe(1);
    expect(await storage.delete(keys)).toBe(128);
  });

  it("refuses keys over 2048 UTF-8 bytes, counting bytes not characters", async () => {
    const { storage } = openStorage();
    await storage.put("k".repeat(maxKeyBytes), 1);
    await expect(storage.put("k".repeat(maxKeyBytes + 1), 1)).rejects.toThrow(
      new RangeError("Keys cannot be larger than 2048 bytes. A key of size 2049 was provided."),
    );
    // 683 three-byte characters: 683 characters, 2049 bytes.
    await expect(storage.put("€".repeat(683), 1)).rejects.toThrow("A key of size 2049 was provided.");
    // In a batch, one long key refuses the whole batch.
    await expect(storage.put({ fine: 1, ["x".repeat(3000)]: 2 })).rejects.toThrow("A key of size 3000 was provided.");
    expect([...(await storage.list()).keys()]).toEqual(["k".repeat(maxKeyBytes)]);
    // Reading or deleting a long key is no error: it is simply not there.
    expect(await storage.get("x".repeat(3000))).toBeUndefined();
  });

  it("refuses a key and value over 2 MiB together, keeping the previous value", async () => {
    const { storage } = openStorage();
    await storage.put("blob", "small");
    // Values count as stored: serialized, header included. Fill up to the limit exactly.
    const room = maxEntryBytes - "blob".length;
    const header = serialize(new Uint8Array(room)).byteLength - room;
    const exact = new Uint8Array(room - header);
    expect(serialize(exact).byteLength).toBe(room);
    await storage.put("blob", exact);
    expect(((await storage.get("blob")) as Uint8Array).byteLength).toBe(exact.byteLength);
    const over = new Uint8Array(exact.byteLength + 1);
    await expect(storage.put("blob", over)).rejects.toThrow(
      new RangeError(
        `Key and value combined cannot exceed 2097152 bytes (2 MB, the limit of SQLite-backed Durable Objects): key "blob" and its serialized value take 2097153 bytes.`,
      ),
    );
    await expect(storage.put({ other: 1, blob: over })).rejects.toThrow("cannot exceed 2097152 bytes");
    await expect(storage.put("y".repeat(100), over)).rejects.toThrow(`key "${"y".repeat(64)}"… and its serialized value`);
    expect(((await storage.get("blob")) as Uint8Array).byteLength).toBe(exact.byteLength);
    expect(await storage.get("other")).toBeUndefined();
  });
});

describe("alarms", () => {
  it("forwards getAlarm, setAlarm and deleteAlarm to the host's alarm slot", async () => {
    const { storage, alarms } = openStorage();
    expect(await storage.getAlarm()).toBeNull();
    await storage.setAlarm(4_700_000_000_000);
    expect(alarms.at).toBe(4_700_000_000_000);
    await storage.setAlarm(new Date(4_800_000_000_000), { allowUnconfirmed: true });
    expect(await storage.getAlarm({ allowConcurrency: true })).toBe(4_800_000_000_000);
    await storage.setAlarm(4_800_000_000_000.7);
    expect(alarms.at).toBe(4_800_000_000_000);
    await storage.deleteAlarm();
    expect(await storage.getAlarm()).toBeNull();
  });

  it("hands a time already past to the alarm slot as given (the host's alarm stores it as now: durable-object/alarm.test.ts)", async () => {
    const { storage, alarms } = openStorage();
    await storage.setAlarm(1_000);
    expect(alarms.at).toBe(1_000);
  });

  it("refuses times that are not a Date or a number of ms, or are not after the epoch", async () => {
    const { storage, alarms } = openStorage();
    const notADate = "Failed to execute 'setAlarm' on 'DurableObjectStorage': parameter 1 is not of type 'date'.";
    for (const bad of ["2030-01-01", NaN, Infinity, new Date("nonsense"), null, undefined]) {
      await expect(storage.setAlarm(bad as never), String(bad)).rejects.toThrow(new TypeError(notADate));
    }
    for (const early of [0, -5, new Date(0), 0.5]) {
      await expect(storage.setAlarm(early)).rejects.toThrow(new TypeError("setAlarm() cannot be called with an alarm time <= 0"));
    }
    expect(alarms.at).toBeNull();
  });
});

describe("sync and unsupported methods", () => {
  it("sync() resolves once the writes so far are committed", async () => {
    const { storage, db } = openStorage();
    await storage.sync(); // nothing pending: resolves at once
    await storage.put("k", "v");
    expect(db.whenCommitted()).toBeInstanceOf(Promise); // written, not yet committed
    await storage.sync();
    expect(db.whenCommitted()).toBeUndefined();
  });

  it("point-in-time recovery names docs/compat.md (a rejected promise, as the methods' type says)", async () => {
    const { storage } = openStorage();
    await expect(storage.getCurrentBookmark()).rejects.toThrow(
      "ctx.storage.getCurrentBookmark() is not supported by Hearth: point-in-time recovery (bookmarks) is not implemented; see docs/compat.md",
    );
    await expect(storage.getBookmarkForTime(Date.now())).rejects.toThrow("getBookmarkForTime() is not supported by Hearth");
    await expect(storage.onNextSessionRestoreBookmark("b")).rejects.toThrow("onNextSessionRestoreBookmark() is not supported by Hearth");
  });
});
