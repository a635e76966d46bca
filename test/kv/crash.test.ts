import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { openKvNamespace } from "../../src/kv/index.ts";
import { killChildren, startChild } from "../support/child.ts";
import { tempDir } from "./setup.ts";

afterEach(killChildren);

describe("KV durability", () => {
  it("keeps every write whose promise resolved when the process is killed with SIGKILL", async () => {
    const path = join(tempDir(), "kv", "NS.sqlite");
    const child = await startChild("test/kv/fixtures/writer.ts", [path]);
    const line = await child.nextLine(/^ACK ([3-9]\d\d|\d{4,})$/, 20_000);
    expect(line, child.stderr()).not.toBeNull();
    child.proc.kill("SIGKILL");
    await child.exited;
    const acknowledged = Math.max(...child.lines.filter((l) => l.startsWith("ACK ")).map((l) => Number(l.slice(4))));
    const kv = openKvNamespace(path);
    const keys = Array.from({ length: acknowledged }, (_, i) => `key:${i}`);
    for (let start = 0; start < keys.length; start += 100) {
      const values = await kv.get(keys.slice(start, start + 100));
      for (const [key, value] of values) expect(value, key).toBe(`value ${key.slice(4)}`);
    }
  });
});
