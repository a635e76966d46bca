/**
 * An agent's `this.sql` gives BLOBs back as ArrayBuffers, as Cloudflare's does (its `sql` is
 * `ctx.storage.sql.exec`'s rows): code that views the bytes through a typed array moves unchanged.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Agent, callable, getAgentByName, Host } from "../../src/index.ts";

class Embeddings extends Agent<unknown, Record<string, never>> {
  override onStart(): void {
    this.sql`CREATE TABLE IF NOT EXISTS vectors (id TEXT PRIMARY KEY, embedding BLOB, label TEXT)`;
  }

  @callable() store(id: string, values: number[]): void {
    this.sql`INSERT OR REPLACE INTO vectors (id, embedding, label) VALUES (${id}, ${new Float32Array(values)}, ${id.toUpperCase()})`;
  }

  /** What a Cloudflare agent would read: the row's types and the floats seen through the buffer. */
  @callable() read(id: string): { isArrayBuffer: boolean; byteLength: number; floats: number[]; label: unknown } {
    const [row] = this.sql<{ embedding: ArrayBuffer; label: string }>`SELECT embedding, label FROM vectors WHERE id = ${id}`;
    const embedding = row!.embedding;
    return {
      isArrayBuffer: embedding instanceof ArrayBuffer,
      byteLength: embedding.byteLength,
      floats: [...new Float32Array(embedding)],
      label: row!.label,
    };
  }

  /** Two rows of BLOBs must not share memory: writing through one leaves the other as stored. */
  @callable() independent(): number[] {
    const rows = this.sql<{ embedding: ArrayBuffer }>`SELECT embedding FROM vectors ORDER BY id`;
    new Float32Array(rows[0]!.embedding).fill(9);
    return [...new Float32Array(rows[1]!.embedding)];
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("this.sql BLOBs", () => {
  it("come back as ArrayBuffers holding exactly the stored bytes, across hibernation too", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "hearth-sql-blobs-"));
    dirs.push(dataDir);
    let host = new Host({ dataDir, agents: { Embeddings } });
    let agent = await getAgentByName(host.env.Embeddings as never, "docs") as unknown as Embeddings;
    await agent.store("a", [0.5, -2, 3.25]);
    await agent.store("b", [1, 2]);
    expect(await agent.read("a")).toEqual({ isArrayBuffer: true, byteLength: 12, floats: [0.5, -2, 3.25], label: "A" });
    expect(await agent.independent()).toEqual([1, 2]);
    await host.close();

    host = new Host({ dataDir, agents: { Embeddings } });
    agent = await getAgentByName(host.env.Embeddings as never, "docs") as unknown as Embeddings;
    expect(await agent.read("b")).toEqual({ isArrayBuffer: true, byteLength: 8, floats: [1, 2], label: "B" });
    await host.close();
  });
});

/** Reads its state through the same SQL text Hearth's own state read uses. */
class Peeker extends Agent<unknown, { n: number }> {
  override initialState = { n: 1 };

  @callable() bump(): number {
    this.setState({ n: this.state.n + 1 });
    return this.state.n;
  }

  /** Fails after a change: the change is rolled back and the state is read from the file again. */
  @callable() bumpThenFail(): void {
    this.setState({ n: this.state.n + 100 });
    throw new Error("no");
  }

  @callable() peek(): unknown[] {
    return [...this.ctx.storage.sql.exec("SELECT data FROM _hearth_state ORDER BY chunk").raw()];
  }
}

describe("sql.exec on a statement Hearth also runs", () => {
  it("leaves Hearth's own reads of it as they were (rows as objects)", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "hearth-sql-shared-"));
    dirs.push(dataDir);
    const host = new Host({ dataDir, agents: { Peeker } });
    const agent = await getAgentByName(host.env.Peeker as never, "p") as unknown as Peeker;
    expect(await agent.bump()).toBe(2);
    expect(await agent.peek()).toEqual([['{"n":2}']]);
    await expect(agent.bumpThenFail()).rejects.toThrow("no");
    expect(await agent.bump()).toBe(3); // the state is read back from the file through that statement
    await host.close();
    const again = new Host({ dataDir, agents: { Peeker } });
    const reopened = await getAgentByName(again.env.Peeker as never, "p") as unknown as Peeker;
    expect(await reopened.peek()).toEqual([['{"n":3}']]);
    expect(await reopened.bump()).toBe(4);
    await again.close();
  });
});
