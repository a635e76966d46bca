/**
 * A parent's list of children agrees with their files whatever happens to the event that created or
 * deleted one: a child created in an event that then fails stays (its file and its onStart's effects
 * are there, and Cloudflare keeps a failing handler's writes); a child deleted in one is gone.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Agent, getAgentByName, type AgentNamespace } from "../../src/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";

class Note extends Agent {
  save(text: string): void {
    this.sql`CREATE TABLE IF NOT EXISTS note (t TEXT)`;
    this.sql`INSERT INTO note VALUES (${text})`;
  }
  read(): string | null {
    this.sql`CREATE TABLE IF NOT EXISTS note (t TEXT)`;
    return this.sql<{ t: string }>`SELECT t FROM note`[0]?.t ?? null;
  }
}

class Desk extends Agent {
  async createThenFail(name: string): Promise<void> {
    await this.subAgent(Note, name);
    throw new Error("a later failure");
  }
  async createSaveThenFail(name: string): Promise<void> {
    await (await this.subAgent(Note, name)).save("kept");
    throw new Error("a later failure");
  }
  async save(name: string, text: string): Promise<void> {
    await (await this.subAgent(Note, name)).save(text);
  }
  /** Deletes the child, calls it through a stub made before, then fails. */
  async deleteThenFail(name: string): Promise<string> {
    const before = await this.subAgent(Note, name);
    await this.deleteSubAgent(Note, name);
    const answer = await before.read().then(String, (error: unknown) => (error as Error).message);
    throw new Error(`after the delete the stub said: ${answer}`);
  }
  /** The same inside a `transaction()` closure that fails: the whole closure is undone, the child kept. */
  async deleteInFailedTransaction(name: string): Promise<void> {
    await this.ctx.storage.transaction(async () => {
      await this.deleteSubAgent(Note, name);
      throw new Error("the closure fails");
    });
  }
  info(): string[] {
    return this.listSubAgents().map((child) => child.name);
  }
  async read(name: string): Promise<string | null> {
    return (await this.subAgent(Note, name)).read();
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

function noteFiles(dataDir: string): string[] {
  const dir = join(dataDir, "agents", "desk");
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((file) => file.endsWith(".sqlite") && file.includes(".facets"))
    .map((file) => file.replace(/^.*note-([a-z0-9]+)-.*$/, "$1"))
    .sort();
}

describe("a parent's list of children after a failed event", () => {
  it("keeps a child created in an event that then failed, with its data", async () => {
    harness = await startHarness({ Desk, Note });
    const desk = await getAgentByName(harness.host.env.Desk as AgentNamespace<Desk>, "d");
    await expect(desk.createThenFail("m")).rejects.toThrow("a later failure");
    await expect(desk.createSaveThenFail("k")).rejects.toThrow("a later failure");
    expect(await desk.info()).toEqual(["m", "k"]);
    expect(noteFiles(harness.dataDir)).toEqual(["k", "m"]);
    harness.host.hibernateIdleAgents();
    expect(await desk.info()).toEqual(["m", "k"]);
    expect(await desk.read("m")).toBeNull();
    expect(await desk.read("k")).toBe("kept");
  });

  it("drops a child deleted in an event that then failed: unreachable at once, gone from disk and list", async () => {
    harness = await startHarness({ Desk, Note });
    const desk = await getAgentByName(harness.host.env.Desk as AgentNamespace<Desk>, "d");
    await desk.save("n", "precious");
    await expect(desk.deleteThenFail("n")).rejects.toThrow("after the delete the stub said: Facet was deleted.");
    expect(await desk.info()).toEqual([]);
    expect(noteFiles(harness.dataDir)).toEqual([]);
    expect(await desk.read("n")).toBeNull(); // made again, empty
    expect(await desk.info()).toEqual(["n"]);
  });

  it("keeps a child deleted in a transaction() closure that failed, listed and whole", async () => {
    harness = await startHarness({ Desk, Note });
    const desk = await getAgentByName(harness.host.env.Desk as AgentNamespace<Desk>, "d");
    await desk.save("n", "precious");
    await expect(desk.deleteInFailedTransaction("n")).rejects.toThrow("the closure fails");
    expect(await desk.info()).toEqual(["n"]);
    expect(noteFiles(harness.dataDir)).toEqual(["n"]);
    expect(await desk.read("n")).toBe("precious");
  });
});
