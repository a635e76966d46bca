/**
 * A sub-agent that destroys itself is forgotten by its parent, as Cloudflare's facets are: no longer
 * listed, and its next use through the parent creates it afresh.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Agent, getAgentByName, Host } from "../../src/index.ts";

class Thread extends Agent {
  add(): number {
    this.sql`CREATE TABLE IF NOT EXISTS n (x)`;
    this.sql`INSERT INTO n VALUES (1)`;
    return this.sql<{ c: number }>`SELECT count(*) AS c FROM n`[0]!.c;
  }
  async selfDestruct(): Promise<void> {
    await this.destroy();
  }
  /** Destroys itself a moment later: after its parent, here. */
  async destroySoon(): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, 50));
    await this.destroy();
    childDestroyed = true;
  }
}

let childDestroyed = false;

class Inbox extends Agent {
  async post(name: string): Promise<number> {
    return (await this.subAgent(Thread, name)).add();
  }
  async close(name: string): Promise<void> {
    await (await this.subAgent(Thread, name)).selfDestruct();
  }
  async kick(name: string): Promise<void> {
    const child = await this.subAgent(Thread, name);
    void child.destroySoon().catch(() => {});
  }
  async gone(): Promise<void> {
    await this.destroy();
  }
  info(name: string): { has: boolean; list: string[] } {
    return { has: this.hasSubAgent(Thread, name), list: this.listSubAgents().map((child) => child.name) };
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("a sub-agent's destroy()", () => {
  it("removes it from its parent's list; using it again starts it empty and lists it again", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "hearth-sub-destroy-"));
    dirs.push(dataDir);
    const host = new Host({ dataDir, agents: { Inbox, Thread } });
    try {
      const inbox = (await getAgentByName(host.env.Inbox as never, "u1")) as unknown as Inbox;
      expect(await inbox.post("t1")).toBe(1);
      expect(await inbox.post("t2")).toBe(1);
      await inbox.close("t1");
      expect(await inbox.info("t1")).toEqual({ has: false, list: ["t2"] });
      expect(await inbox.post("t1")).toBe(1);
      expect(await inbox.info("t1")).toEqual({ has: true, list: ["t2", "t1"] });
    } finally {
      await host.close();
    }
  });

  it("never brings back a parent destroyed before the child destroyed itself", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "hearth-sub-destroy-"));
    dirs.push(dataDir);
    const host = new Host({ dataDir, agents: { Inbox, Thread } });
    const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile() && e.name.endsWith(".sqlite")).map((e) => e.name);
    try {
      const inbox = (await getAgentByName(host.env.Inbox as never, "u2")) as unknown as Inbox;
      await inbox.post("t1");
      await inbox.kick("t1");
      await inbox.gone();
      expect(files(join(dataDir, "agents"))).toEqual([]);
      for (let i = 0; i < 500 && !childDestroyed; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(childDestroyed).toBe(true);
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setTimeout(resolve, 5)); // whatever follows its destroy
      expect(files(join(dataDir, "agents"))).toEqual([]);
    } finally {
      await host.close();
    }
  });
});
