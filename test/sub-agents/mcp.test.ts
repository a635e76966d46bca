import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { Agent } from "../../src/index.ts";
import type { AgentNamespace } from "../../src/host/namespace.ts";
import { McpAgent, McpServer } from "../../src/mcp/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";

type Env = { Calculator: AgentNamespace<Calculator> };

class Calculator extends McpAgent<Env> {
  server = new McpServer({ name: "calculator", version: "1.0.0" });
  init() {
    this.server.registerTool("add", { inputSchema: z.object({ a: z.number(), b: z.number() }) }, ({ a, b }) => ({
      content: [{ type: "text", text: String(a + b) }],
    }));
  }
}

/** A sub-agent that is an MCP client of a server on the same host. */
class Analyst extends Agent<Env> {
  async sum(a: number, b: number): Promise<string> {
    const { id } = await this.addMcpServer("calc", this.env.Calculator);
    const result = await this.mcp.callTool({ serverId: id, name: "add", arguments: { a, b } });
    return (result.content as Array<{ text: string }>)[0]!.text;
  }
  servers(): string[] {
    return Object.values(this.getMcpServers().servers).map((server) => server.name);
  }
}

class Team extends Agent<Env> {
  async sum(member: string, a: number, b: number): Promise<string> {
    return (await this.subAgent(Analyst, member)).sum(a, b);
  }
  async servers(member: string): Promise<string[]> {
    return (await this.subAgent(Analyst, member)).servers();
  }
}

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe("MCP in a sub-agent", () => {
  it("mounts a server and calls its tools; the mount is the sub-agent's own", async () => {
    t = await createTestEnv({ agents: { Team, Analyst, Calculator }, time: "system" });
    const team = t.get<Team>("Team", "t");
    expect(await team.sum("ada", 2, 3)).toBe("5");
    expect(await team.servers("ada")).toEqual(["calc"]);
    expect(await team.servers("bob")).toEqual([]);
  });
});
