/**
 * Events for a live root agent go to it by its key alone (host.ts `#deliver`). A name that is not
 * one (a NUL in it) must still be refused, not taken for the key of a live sub-agent below a root.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Agent, AgentNameError, getAgentByName, Host } from "../../src/index.ts";

class Thread extends Agent {
  whoAmI(): string {
    return `thread ${this.name}`;
  }
}

class Inbox extends Agent {
  async openThread(name: string): Promise<string> {
    const thread = await this.subAgent(Thread, name);
    return thread.whoAmI();
  }
  whoAmI(): string {
    return `inbox ${this.name}`;
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe("delivery to a live agent by its key", () => {
  it("reaches the live root agent, and refuses a name with a NUL that spells a live sub-agent's key", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "hearth-live-delivery-"));
    dirs.push(dataDir);
    const host = new Host({ dataDir, agents: { Inbox }, exportedClasses: { Thread } });
    try {
      const inbox = (await getAgentByName(host.env.Inbox as never, "a")) as unknown as Inbox;
      expect(await inbox.openThread("t")).toBe("thread t"); // the sub-agent is live now, keyed below "a"
      expect(await host.invoke("Inbox", "a", "whoAmI", [])).toBe("inbox a");
      await expect(host.invoke("Inbox", "a\0Thread:t", "whoAmI", [])).rejects.toThrow(AgentNameError);
      await expect(host.invoke("Inbox", "a\0Thread:t", "whoAmI", [])).rejects.toThrow("must not contain NUL");
      await expect(host.invoke("Inbox", 7 as unknown as string, "whoAmI", [])).rejects.toThrow("Agent name must be a string");
    } finally {
      await host.close();
    }
  });
});
