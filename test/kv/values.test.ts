import { describe, expect, it } from "vitest";
import { readAs } from "../../src/kv/values.ts";

describe("KV values read as an ArrayBuffer", () => {
  it("copies exactly the value's bytes out of a Buffer that shares pooled memory", () => {
    // Buffer.from(…, "hex") allocates from Node's shared pool, as the Postgres driver's bytea parser does.
    const pooled = Buffer.from("0102ff", "hex");
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.byteLength);
    const buffer = readAs(pooled, "arrayBuffer") as ArrayBuffer;
    expect([...new Uint8Array(buffer)]).toEqual([1, 2, 255]);
    expect(readAs(pooled.subarray(2), "text")).toBe("\uFFFD");
  });
});
