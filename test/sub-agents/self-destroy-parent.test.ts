/**
 * A sub-agent's own destroy() as its parent sees it, as with Cloudflare's facets (the SDK routes it
 * through the parent's `ctx.facets.delete`): the parent stops listing it even when it was hibernated
 * (it is woken for that), and the stubs it made before fail as after `deleteSubAgent` instead of
 * making the child again, empty and unlisted.
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Agent, getAgentByName, type AgentNamespace } from "../../src/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";

let destroyedByAlarm = 0;

class Thread extends Agent {
  async arm(): Promise<void> {
    await this.schedule(1, "boom");
  }
  async boom(): Promise<void> {
    await this.destroy();
    destroyedByAlarm++;
  }
  add(): number {
    this.sql`CREATE TABLE IF NOT EXISTS n (x)`;
    this.sql`INSERT INTO n VALUES (1)`;
    return this.sql<{ c: number }>`SELECT count(*) AS c FROM n`[0]!.c;
  }
  async selfDestruct(): Promise<void> {
    await this.destroy();
  }
}

class Inbox extends Agent {
  held: Record<string, { add(): Promise<number>; selfDestruct(): Promise<void> }> = {};

  async arm(name: string): Promise<void> {
    await (await this.subAgent(Thread, name)).arm();
  }
  async open(name: string): Promise<number> {
    this.held[name] = await this.subAgent(Thread, name);
    return this.held[name].add();
  }
  async destroyHeld(name: string): Promise<void> {
    await this.held[name]!.selfDestruct();
  }
  async useHeld(name: string): Promise<string> {
    return this.held[name]!.add().then(String, (error: unknown) => (error as Error).message);
  }
  async post(name: string): Promise<number> {
    return (await this.subAgent(Thread, name)).add();
  }
  list(): string[] {
    return this.listSubAgents().map((child) => child.name);
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

function threadFiles(dataDir: string): number {
  const dir = join(dataDir, "agents", "inbox");
  if (!existsSync(dir)) return 0;
  return readdirSync(dir, { recursive: true })
    .map(String)
    .filter((file) => file.endsWith(".sqlite") && file.includes(".facets")).length;
}

describe("a sub-agent that destroys itself", () => {
  it("is no longer listed by a parent that was hibernated meanwhile", async () => {
    harness = await startHarness({ Inbox, Thread });
    const inbox = await getAgentByName(harness.host.env.Inbox as AgentNamespace<Inbox>, "u");
    await inbox.arm("t1");
    expect(await inbox.list()).toEqual(["t1"]);
    expect(harness.host.hibernateIdleAgents()).toBe(2);
    const before = destroyedByAlarm;
    await expect.poll(() => destroyedByAlarm, { timeout: 10_000 }).toBe(before + 1);
    await expect.poll(() => threadFiles(harness!.dataDir)).toBe(0);
    await expect.poll(() => inbox.list()).toEqual([]);
  });

  it("fails the parent's older stubs as a delete does; a new subAgent() makes it again and lists it", async () => {
    harness = await startHarness({ Inbox, Thread });
    const inbox = await getAgentByName(harness.host.env.Inbox as AgentNamespace<Inbox>, "u");
    expect(await inbox.open("b")).toBe(1);
    expect(await inbox.open("c")).toBe(1);
    await inbox.destroyHeld("b");
    expect(await inbox.useHeld("b")).toBe("Facet was deleted.");
    expect(await inbox.useHeld("b")).toBe("Facet was deleted.");
    expect(await inbox.useHeld("c")).toBe("2"); // a sibling is untouched
    await expect.poll(() => inbox.list()).toEqual(["c"]);
    expect(threadFiles(harness.dataDir)).toBe(1);
    expect(await inbox.post("b")).toBe(1);
    expect(await inbox.list()).toEqual(["c", "b"]);
  });
});
