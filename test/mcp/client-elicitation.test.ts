// this.mcp.configureElicitationHandlers, as the Agents SDK documents it, against a real SDK server on
// loopback whose tool asks the user for input in the middle of the call: the handler of the mode
// answers, connections advertise only the modes that have a handler, explicit client.capabilities
// win and are stored with the server.
import type { McpServer } from "@modelcontextprotocol/server";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Agent } from "../../src/index.ts";
import type { AddMcpServerOptions, ElicitRequest } from "../../src/mcp/client/index.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { startRemoteServer, type RemoteServer } from "./fixtures/remote-server.ts";

/** "ask" elicits a form and reports the answer; "modes" reports the elicitation capability the client announced. */
function register(server: McpServer): void {
  server.registerTool("ask", { description: "Asks the user" }, async () => {
    try {
      const answer = await server.server.elicitInput({
        mode: "form",
        message: "Deploy to production?",
        requestedSchema: { type: "object", properties: { confirm: { type: "boolean" } }, required: ["confirm"] },
      });
      return { content: [{ type: "text", text: JSON.stringify(answer) }] };
    } catch (error) {
      return { content: [{ type: "text", text: `refused: ${(error as Error).message}` }], isError: true };
    }
  });
  server.registerTool("modes", { description: "What the client announced" }, () => ({
    content: [{ type: "text", text: JSON.stringify(server.server.getClientCapabilities()?.elicitation ?? null) }],
  }));
}

/** The instance name picks the handlers: "form", "both" or "none". */
class Deployer extends Agent<Record<string, unknown>> {
  asked: Array<{ serverId: string; message: string }> = [];

  onStart() {
    const form = (request: ElicitRequest, serverId: string) => {
      this.asked.push({ serverId, message: request.params.message });
      return { action: "accept" as const, content: { confirm: true } };
    };
    const url = () => ({ action: "accept" as const });
    if (this.name === "form") this.mcp.configureElicitationHandlers({ form });
    if (this.name === "both") this.mcp.configureElicitationHandlers({ form, url });
  }

  mount(url: string, options?: AddMcpServerOptions) {
    return this.addMcpServer("deploy", url, options);
  }

  async text(serverId: string, name: string) {
    const result = await this.mcp.callTool({ serverId, name, arguments: {} });
    return (result.content as Array<{ text: string }>)[0]!.text;
  }

  questions() {
    return this.asked;
  }

  configure(kind: "unknown mode" | "not a function") {
    const handlers = kind === "unknown mode" ? { sms: () => ({ action: "decline" }) } : { form: "yes" };
    try {
      this.mcp.configureElicitationHandlers(handlers as never);
      return "ok";
    } catch (error) {
      return (error as Error).message;
    }
  }
}

let t: TestEnv;
let remote: RemoteServer;

beforeEach(async () => {
  remote = await startRemoteServer({ register });
  t = await createTestEnv({ agents: { Deployer }, time: "system" });
});

afterEach(async () => {
  await t.close();
  await remote.close();
});

describe("elicitation", () => {
  it("answers a server's question with the form handler, during the call", async () => {
    const agent = t.get<Deployer>("Deployer", "form");
    const { id } = await agent.mount(remote.url);
    expect(JSON.parse(await agent.text(id, "modes"))).toEqual({ form: {} });
    expect(JSON.parse(await agent.text(id, "ask"))).toEqual({ action: "accept", content: { confirm: true } });
    expect(await agent.questions()).toEqual([{ serverId: id, message: "Deploy to production?" }]);
  });

  it("announces no elicitation without handlers, so the server cannot ask", async () => {
    const agent = t.get<Deployer>("Deployer", "none");
    const { id } = await agent.mount(remote.url);
    expect(await agent.text(id, "modes")).toBe("null");
    expect(await agent.text(id, "ask")).toMatch(/^refused: .*elicitation/i);
  });

  it("announces the modes that have handlers, or the client.capabilities given, which are kept across a restart", async () => {
    const agent = t.get<Deployer>("Deployer", "both");
    const both = await agent.mount(remote.url);
    expect(JSON.parse(await agent.text(both.id, "modes"))).toEqual({ form: {}, url: {} });
    const formOnly = await agent.mount(remote.sseUrl, { transport: "sse", client: { capabilities: { elicitation: { form: {} } } } });
    expect(JSON.parse(await agent.text(formOnly.id, "modes"))).toEqual({ form: {} });
    await t.restart();
    const woken = t.get<Deployer>("Deployer", "both");
    expect(JSON.parse(await woken.text(formOnly.id, "modes"))).toEqual({ form: {} });
    expect(JSON.parse(await woken.text(both.id, "modes"))).toEqual({ form: {}, url: {} });
  });

  it("refuses handlers of unknown modes or that are not functions, and bad client options", async () => {
    const agent = t.get<Deployer>("Deployer", "none");
    expect(await agent.configure("unknown mode")).toMatch(/unknown mode "sms"/);
    expect(await agent.configure("not a function")).toMatch(/form must be a function/);
    await expect(agent.mount(remote.url, { client: { name: "x" } as never })).rejects.toThrow(/client must be \{ capabilities \}/);
  });
});
