/**
 * What a parent keeps of its deleted or aborted children: a record only while a stub that could be
 * told "deleted" is alive, not one per name for the life of the process (a facet per session, deleted
 * at its end, would otherwise grow the host's memory with every session).
 */
import v8 from "node:v8";
import vm from "node:vm";
import { afterEach, describe, expect, it } from "vitest";
import { AGENT_RUNTIME } from "../../src/agent/agent-base.ts";
import { Agent, getAgentByName, type AgentNamespace } from "../../src/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";

class Session extends Agent {
  ping(): string {
    return "pong";
  }
}

/** Holds at most one stub of a session, as a variable of its own. */
class Sessions extends Agent {
  held: unknown;

  async deleteMany(count: number): Promise<void> {
    for (let i = 0; i < count; i++) await this.deleteSubAgent(Session, `session-${i}`);
  }

  async holdThenDelete(name: string): Promise<string> {
    const stub = await this.subAgent(Session, name);
    this.held = stub;
    await this.deleteSubAgent(Session, name);
    try {
      await stub.ping();
      return "answered";
    } catch (error) {
      return (error as Error).message;
    }
  }

  /** Keeps only a method taken from a stub, then deletes the child: calls through the method must go on failing. */
  async holdMethodThenDelete(name: string): Promise<void> {
    const stub = await this.subAgent(Session, name);
    this.held = stub.ping;
    await this.deleteSubAgent(Session, name);
  }

  async callHeld(): Promise<string> {
    try {
      return await (this.held as () => Promise<string>)();
    } catch (error) {
      return (error as Error).message;
    }
  }

  drop(): void {
    this.held = undefined;
  }

  records(): number {
    return (this[AGENT_RUNTIME].children as unknown as { records: number }).records;
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe("deleted children", () => {
  it("leave no record when no stub of them is alive", async () => {
    harness = await startHarness({ Sessions, Session });
    const sessions = await getAgentByName(harness.host.env.Sessions as AgentNamespace<Sessions>, "s");
    await sessions.deleteMany(500);
    expect(await sessions.records()).toBe(0);
  });

  it("keep one while a stub made before the delete is alive: it is told, then the record goes with it", async () => {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    harness = await startHarness({ Sessions, Session });
    const sessions = await getAgentByName(harness.host.env.Sessions as AgentNamespace<Sessions>, "s");
    expect(await sessions.holdThenDelete("kept")).toBe("Facet was deleted.");
    expect(await sessions.records()).toBe(1);
    await sessions.drop();
    await expect
      .poll(
        async () => {
          gc();
          await new Promise((resolve) => setTimeout(resolve, 20));
          return sessions.records();
        },
        { timeout: 10_000 },
      )
      .toBe(0);
  });

  it("keep one while only a method taken from such a stub is alive", async () => {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    harness = await startHarness({ Sessions, Session });
    const sessions = await getAgentByName(harness.host.env.Sessions as AgentNamespace<Sessions>, "s");
    await sessions.holdMethodThenDelete("by-method");
    for (let i = 0; i < 5; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await sessions.callHeld()).toBe("Facet was deleted.");
    expect(await sessions.records()).toBe(1);
  });
});
