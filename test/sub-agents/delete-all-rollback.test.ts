/**
 * An agent's `ctx.storage.deleteAll()` takes its sub-agents with it once the wipe is committed: at
 * once outside a transactionSync block (the wipe then stands whatever the event does next), with the
 * block's writes inside one (a block that throws leaves them).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Agent, Host, getAgentByName, type AgentNamespace } from "../../src/index.ts";

class Note extends Agent {
  save(text: string): void {
    this.sql`CREATE TABLE IF NOT EXISTS note (text TEXT)`;
    this.sql`INSERT INTO note (text) VALUES (${text})`;
  }

  read(): string | null {
    this.sql`CREATE TABLE IF NOT EXISTS note (text TEXT)`;
    return this.sql<{ text: string }>`SELECT text FROM note`[0]?.text ?? null;
  }
}

class Desk extends Agent {
  async setUp(): Promise<void> {
    this.ctx.storage.kv.put("mine", "desk data");
    await (await this.subAgent(Note, "n")).save("note data");
  }

  wipeInBlockThatThrows(): void {
    this.ctx.storage.transactionSync(() => {
      void this.ctx.storage.deleteAll();
      throw new Error("changed my mind");
    });
  }

  async wipeThenThrow(): Promise<void> {
    await this.ctx.storage.deleteAll();
    throw new Error("boom");
  }

  async wipeThenUse(text: string): Promise<string | null> {
    await this.ctx.storage.deleteAll();
    const note = await this.subAgent(Note, "n");
    if ((await note.read()) !== null) throw new Error("the sub-agent kept its data through the wipe");
    await note.save(text);
    return note.read();
  }

  async wipe(): Promise<void> {
    await this.ctx.storage.deleteAll();
  }

  async check(): Promise<{ desk: string | null; note: string | null }> {
    return { desk: this.ctx.storage.kv.get<string>("mine") ?? null, note: await (await this.subAgent(Note, "n")).read() };
  }
}

let host: Host | undefined;
let dataDir: string | undefined;
afterEach(async () => {
  await host?.close();
  host = undefined;
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

async function desk() {
  dataDir = mkdtempSync(join(tmpdir(), "hearth-wipe-sub-agents-"));
  host = new Host({ dataDir, agents: { Desk, Note } });
  const stub = await getAgentByName(host.env.Desk as AgentNamespace<Desk>, "d");
  await stub.setUp();
  return stub;
}

describe("an agent's deleteAll() and its sub-agents", () => {
  it("keeps the sub-agents' data when the wipe is rolled back by its transactionSync block", async () => {
    const stub = await desk();
    await expect(stub.wipeInBlockThatThrows()).rejects.toThrow("changed my mind");
    expect(await stub.check()).toEqual({ desk: "desk data", note: "note data" });
  });

  it("keeps the wipe when the event that wiped then fails: it committed at once, sub-agents and all", async () => {
    const stub = await desk();
    await expect(stub.wipeThenThrow()).rejects.toThrow("boom");
    expect(await stub.check()).toEqual({ desk: null, note: null });
  });

  it("gives a sub-agent used after the wipe in the same event a fresh start, and keeps what it writes then", async () => {
    const stub = await desk();
    expect(await stub.wipeThenUse("after the wipe")).toBe("after the wipe");
    expect(await stub.check()).toEqual({ desk: null, note: "after the wipe" });
  });

  it("deletes the sub-agents' data once the wipe commits", async () => {
    const stub = await desk();
    await stub.wipe();
    expect(await stub.check()).toEqual({ desk: null, note: null });
  });
});
