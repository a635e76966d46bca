/**
 * Edges where the Agents SDK's sub-agents answer in a particular way: a class whose kebab name is the
 * URL separator "sub" is refused; asking about a class the worker does not serve is no error; a
 * refused sub-agent URL gets a terse 400 or 404, its detail only in the log.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { Agent, getAgentByName, type AgentNamespace } from "../../src/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";

class Sub extends Agent {
  ping(): string {
    return "pong";
  }
}

class Thread extends Agent {
  onRequest(): Response {
    return new Response(this.name);
  }
}

class Parent extends Agent {
  async makeSub(): Promise<string> {
    return (await this.subAgent(Sub, "x")).ping();
  }
  unknown(): { has: boolean; list: unknown[]; all: unknown[] } {
    return { has: this.hasSubAgent("Unknown", "x"), list: this.listSubAgents("Unknown"), all: this.listSubAgents() };
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  vi.restoreAllMocks();
});

describe("sub-agents at the Agents SDK's edges", () => {
  it("refuses a class whose kebab name is the URL separator", async () => {
    harness = await startHarness({ Parent, Sub, Thread });
    const parent = await getAgentByName(harness.host.env.Parent as AgentNamespace<Parent>, "p");
    await expect(parent.makeSub()).rejects.toThrow('Sub-agent class name "Sub" kebab-cases to "sub"');
  });

  it("answers false and [] for a class the worker does not serve", async () => {
    harness = await startHarness({ Parent, Sub, Thread });
    const parent = await getAgentByName(harness.host.env.Parent as AgentNamespace<Parent>, "p");
    expect(await parent.unknown()).toEqual({ has: false, list: [], all: [] });
  });

  it("refuses a bad name or an unknown class over HTTP without detail, and logs it", async () => {
    harness = await startHarness({ Parent, Sub, Thread });
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const tooLong = await fetch(`${harness.url}/agents/parent/p/sub/thread/${"a".repeat(300)}`);
    expect([tooLong.status, await tooLong.text()]).toEqual([400, "Bad Request"]);
    const nul = await fetch(`${harness.url}/agents/parent/p/sub/thread/%00x`);
    expect([nul.status, await nul.text()]).toEqual([400, "Bad Request"]);
    const unknown = await fetch(`${harness.url}/agents/parent/p/sub/nothing/x`);
    expect(unknown.status).toBe(404);
    expect(logged.mock.calls.map((call) => String(call[0])).join("\n")).toContain("Facet name is too long");
    const fine = await fetch(`${harness.url}/agents/parent/p/sub/thread/t1`);
    expect([fine.status, await fine.text()]).toEqual([200, "t1"]);
  });
});
