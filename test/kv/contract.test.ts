import { DatabaseSync } from "node:sqlite";
import { describe, expect, it } from "vitest";
import { kvContract } from "./contract.ts";
import { freshNamespace } from "./setup.ts";

describe("KV API on a SQLite file", () => {
  kvContract(() => {
    const { kv, clock, path } = freshNamespace();
    return Promise.resolve({ kv, clock, label: path });
  });

  it("keeps what the contract writes in the namespace's own SQLite file", async () => {
    const { kv, path } = freshNamespace();
    await kv.put("where", "in the file", { metadata: { m: 1 } });
    kv.close();
    const file = new DatabaseSync(path, { readOnly: true });
    try {
      expect(file.prepare("SELECT key, metadata FROM kv").all()).toEqual([{ key: "where", metadata: '{"m":1}' }]);
    } finally {
      file.close();
    }
  });
});
