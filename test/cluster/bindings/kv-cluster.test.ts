import { randomBytes } from "node:crypto";
import type pg from "pg";
import { describe, expect, test } from "vitest";
import { kvTableName, migrateKv, openPostgresKvNamespace, settlePostgresKvWrites } from "../../../src/cluster/bindings/index.ts";
import { createClusterPool } from "../../../src/cluster/pg/pool.ts";
import { MAX_BATCH_BYTES } from "../../../src/cluster/bindings/kv-writes.ts";
import { KV_LIMITS, type KvNamespace } from "../../../src/kv/index.ts";
import { VirtualClock } from "../../../src/time/clock.ts";
import { postgresUnavailable } from "../../support/postgres.ts";
import { pgFixture } from "../pg/fixture.ts";

const START = Date.parse("2030-01-01T00:00:00Z");

describe.skipIf(postgresUnavailable() !== undefined)("KV namespaces shared by a cluster's nodes", () => {
  const pg = pgFixture("kv_cluster");

  /** A virtual clock disposed after the test. */
  function clock(): VirtualClock {
    const made = new VirtualClock({ start: START });
    pg.track({ close: () => made.dispose() });
    return made;
  }

  /** A namespace closed (and its writes settled) after the test, before the pools end. */
  function open(pool: pg.Pool, id: string, options: { clock?: VirtualClock; schema: string }): KvNamespace {
    const kv = openPostgresKvNamespace(pool, id, options);
    pg.track({
      close: async () => {
        kv.close();
        await settlePostgresKvWrites();
      },
    });
    return kv;
  }

  async function rowsOf(pool: pg.Pool, schema: string, namespace: string): Promise<string[]> {
    const { rows } = await pool.query<{ key: string }>(`SELECT key FROM ${kvTableName(schema)} WHERE namespace = $1 ORDER BY key`, [namespace]);
    return rows.map((row) => row.key);
  }

  test("two nodes, each with its own pool, see each other's writes, metadata, expirations and deletes", async () => {
    const poolA = pg.pool({ applicationName: "node-a" });
    const poolB = pg.pool({ applicationName: "node-b" });
    const schema = await pg.schema(poolA);
    const time = clock();
    const a = open(poolA, "SESSIONS", { clock: time, schema });
    const b = open(poolB, "SESSIONS", { clock: time, schema });
    await a.put("user:1", "Ada", { metadata: { v: 1 }, expirationTtl: 3600 });
    await a.put("user:2", new Uint8Array([1, 2, 3]));
    expect(await b.getWithMetadata("user:1")).toEqual({ value: "Ada", metadata: { v: 1 }, cacheStatus: null });
    expect([...new Uint8Array((await b.get("user:2", "arrayBuffer"))!)]).toEqual([1, 2, 3]);
    expect((await b.list({ prefix: "user:" })).keys).toEqual([
      { name: "user:1", metadata: { v: 1 }, expiration: START / 1000 + 3600 },
      { name: "user:2" },
    ]);
    await b.delete("user:1");
    await b.put("user:2", "overwritten by b");
    expect(await a.get("user:1")).toBeNull();
    expect(await a.get("user:2")).toBe("overwritten by b");
    expect([...(await a.get(["user:1", "user:2"]))]).toEqual([
      ["user:1", null],
      ["user:2", "overwritten by b"],
    ]);
  });

  test("a put resolves only once Postgres has committed it", async () => {
    const pool = pg.pool();
    const other = pg.pool();
    const schema = await pg.schema(pool);
    const kv = open(pool, "NS", { clock: clock(), schema });
    await Promise.all([kv.put("a", "1"), kv.put("b", "2"), kv.delete("c")]);
    expect(await rowsOf(other, schema, "NS")).toEqual(["a", "b"]);
  });

  test("keeps namespaces, and clusters in other schemas, apart", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const otherSchema = await pg.schema(pool);
    const time = clock();
    const one = open(pool, "ONE", { clock: time, schema });
    const two = open(pool, "TWO", { clock: time, schema });
    const elsewhere = open(pool, "ONE", { clock: time, schema: otherSchema });
    await one.put("k", "1");
    expect(await two.get("k")).toBeNull();
    expect(await elsewhere.get("k")).toBeNull();
    expect((await two.list()).keys).toEqual([]);
  });

  test("commits a turn of binary values of many keys in one statement, byte for byte", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const kv = open(pool, "BLOBS", { clock: clock(), schema });
    const values = Array.from({ length: 20 }, () => randomBytes(50_000));
    await Promise.all(values.map((value, i) => kv.put(`blob:${i}`, value, { metadata: { i } })));
    const other = open(pg.pool(), "BLOBS", { clock: clock(), schema });
    for (const [i, value] of values.entries()) {
      const read = await other.getWithMetadata(`blob:${i}`, "arrayBuffer");
      expect(Buffer.from(read.value!).equals(value)).toBe(true);
      expect(read.metadata).toEqual({ i });
    }
  });

  test("stores a value of the full 25 MiB, and splits a turn's writes into statements of at most 16 MiB of values", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const kv = open(pool, "BIG", { clock: clock(), schema });
    const filled = (bytes: number, fill: number): Uint8Array => new Uint8Array(bytes).fill(fill);
    await kv.put("full", filled(KV_LIMITS.maxValueBytes, 7));
    const nine = 9 * 1024 * 1024;
    expect(2 * nine).toBeGreaterThan(MAX_BATCH_BYTES);
    await Promise.all([kv.put("a", filled(nine, 1)), kv.put("small", "s"), kv.put("b", filled(nine, 2)), kv.delete("small"), kv.put("c", "c")]);
    const read = async (key: string): Promise<Uint8Array> => new Uint8Array((await kv.get(key, "arrayBuffer"))!);
    const full = await read("full");
    expect(full.byteLength).toBe(KV_LIMITS.maxValueBytes);
    expect(full[0]).toBe(7);
    expect(full[full.byteLength - 1]).toBe(7);
    expect(Buffer.from(await read("a")).equals(Buffer.from(filled(nine, 1)))).toBe(true);
    expect(Buffer.from(await read("b")).equals(Buffer.from(filled(nine, 2)))).toBe(true);
    expect(await rowsOf(pool, schema, "BIG")).toEqual(["a", "b", "c", "full"]);
  });

  test("purges expired rows in the background, batch after batch, and keeps live ones", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const time = clock();
    const kv = open(pool, "TTL", { clock: time, schema });
    await Promise.all(Array.from({ length: 2_500 }, (_, i) => kv.put(`short:${String(i).padStart(4, "0")}`, "v", { expirationTtl: 60 })));
    await kv.put("long", "v", { expirationTtl: 3600 });
    await kv.put("forever", "v");
    expect(await rowsOf(pool, schema, "TTL")).toHaveLength(2_502);
    // Nothing reads the keys after they expire: only the purge removes them.
    await time.advance("2 minutes");
    expect(await rowsOf(pool, schema, "TTL")).toEqual(["forever", "long"]);
  });

  test("a key with U+0000 cannot be stored in Postgres: put refuses it, reads find nothing", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const kv = open(pool, "NUL", { clock: clock(), schema });
    await kv.put("a", "v");
    await expect(kv.put("a\u0000b", "v")).rejects.toThrow("KV PUT failed: 400 Key names stored in the cluster cannot contain U+0000 (NUL).");
    expect(await kv.get("a\u0000b")).toBeNull();
    expect([...(await kv.get(["a\u0000b", "a"]))]).toEqual([
      ["a\u0000b", null],
      ["a", "v"],
    ]);
    await kv.delete("a\u0000b");
    expect((await kv.list({ prefix: "a\u0000" })).keys).toEqual([]);
    // No listing here ends on such a key, so a cursor naming one was not made by one.
    const cursor = Buffer.from("a\u0000", "utf8").toString("base64url");
    await expect(kv.list({ cursor })).rejects.toThrow("KV GET failed: 400 Invalid cursor: pass back the cursor of a previous list() unchanged.");
  });

  test("reports an unreachable Postgres as a 503 failure of the method", async () => {
    const pool = createClusterPool({ connectionString: `postgres://hearth@127.0.0.1:1/none`, connectionTimeoutMillis: 1_000 });
    pg.track({ close: () => pool.end() });
    const kv = open(pool, "DOWN", { clock: clock(), schema: "down" });
    const prefix = "The cluster's Postgres did not complete the request: ";
    await expect(kv.get("k")).rejects.toThrow(`KV GET failed: 503 ${prefix}`);
    await expect(kv.get(["k"])).rejects.toThrow(`KV GET_BULK failed: 503 ${prefix}`);
    await expect(kv.list()).rejects.toThrow(`KV GET failed: 503 ${prefix}`);
    await expect(kv.put("k", "v")).rejects.toThrow(`KV PUT failed: 503 ${prefix}`);
    await expect(kv.delete("k")).rejects.toThrow(`KV DELETE failed: 503 ${prefix}`);
  });

  test("writes made before close() still commit; settlePostgresKvWrites waits for them", async () => {
    const pool = pg.pool();
    const schema = await pg.schema(pool);
    const kv = openPostgresKvNamespace(pool, "CLOSING", { clock: clock(), schema });
    const written = kv.put("k", "v");
    kv.close();
    await settlePostgresKvWrites();
    await written;
    expect(await rowsOf(pool, schema, "CLOSING")).toEqual(["k"]);
    await expect(kv.get("k")).rejects.toThrow("KV namespace CLOSING is closed");
  });

  test("creates its table on first use; migrating again, from many nodes at once, changes nothing", async () => {
    const pool = pg.pool({ max: 6 });
    await Promise.all(Array.from({ length: 6 }, () => migrateKv(pool, { schema: "kv_together" })));
    await migrateKv(pool, { schema: "kv_together" });
    const fresh = open(pool, "NS", { clock: clock(), schema: "kv_lazy" });
    await fresh.put("k", "v");
    const { rows } = await pool.query(
      "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('kv_together', 'kv_lazy') ORDER BY 1",
    );
    expect(rows).toEqual([
      { table_schema: "kv_lazy", table_name: "kv_entries" },
      { table_schema: "kv_together", table_name: "kv_entries" },
    ]);
    expect(() => openPostgresKvNamespace(pool, "")).toThrow('KV namespace id "" must be a non-empty string without U+0000');
  });
});
