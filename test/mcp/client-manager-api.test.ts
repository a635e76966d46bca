// The members of the Agents SDK's MCPClientManager that code written for it uses on `this.mcp`:
// `mcpConnections`, `listResourceTemplates`, `closeConnection`, `closeAllConnections`,
// `unstable_getAITools`, and AI tools carrying the tool's `title` and `outputSchema`.
import { ResourceTemplate } from "@modelcontextprotocol/server";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { generateToolDeclarations } from "../../src/codemode/tools.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { Assistant } from "./fixtures/remote-assistant.ts";
import { json, startScriptedServer, type ScriptedServer } from "./fixtures/remote-hostile.ts";
import { registerDefaults, startRemoteServer, type RemoteServer } from "./fixtures/remote-server.ts";

export class Manager extends Assistant {
  connectionOf(id: string) {
    const connection = this.mcp.mcpConnections[id];
    if (!connection) return undefined;
    return {
      ids: Object.keys(this.mcp.mcpConnections),
      sameObject: this.mcp.mcpConnections[id] === connection,
      url: connection.url.href,
      state: connection.connectionState,
      error: connection.connectionError,
      instructions: connection.instructions,
      tools: connection.tools.map((tool) => tool.name),
      prompts: connection.prompts.map((prompt) => prompt.name),
      resources: connection.resources.map((resource) => resource.uri),
      resourceTemplates: connection.resourceTemplates.map((template) => template.uriTemplate),
      capabilities: connection.serverCapabilities ? Object.keys(connection.serverCapabilities).sort() : undefined,
      hasClient: typeof connection.client?.callTool === "function",
    };
  }

  templates() {
    return this.mcp.listResourceTemplates();
  }

  aiTools() {
    const tools = this.mcp.getAITools();
    const unstable = this.mcp.unstable_getAITools();
    return {
      keys: Object.keys(tools),
      unstableKeys: Object.keys(unstable),
      described: Object.fromEntries(
        Object.entries(tools).map(([key, tool]) => [
          key,
          { title: tool.title, outputSchema: (tool.outputSchema as { jsonSchema?: unknown } | undefined)?.jsonSchema },
        ]),
      ),
    };
  }

  /** Code-mode declarations of one AI tool (its result type comes from the outputSchema). */
  declarationOf(key: string) {
    const tool = this.mcp.getAITools()[key];
    if (!tool) throw new Error(`no AI tool ${key}`);
    return {
      schema: (tool.outputSchema as { jsonSchema?: unknown } | undefined)?.jsonSchema,
      declarations: generateToolDeclarations({ whereIs: tool }),
    };
  }

  async close(id?: string) {
    try {
      if (id === undefined) await this.mcp.closeAllConnections();
      else await this.mcp.closeConnection(id);
      return "closed";
    } catch (error) {
      return `${(error as { code?: string }).code}: ${(error as Error).message}`;
    }
  }

  async reconnect(id: string) {
    const connected = await this.mcp.connectToServer(id);
    const discovered = await this.mcp.discoverIfConnected(id);
    return { connected, discovered };
  }
}

let t: TestEnv;
let remote: RemoteServer;
const scripted: ScriptedServer[] = [];

beforeEach(async () => {
  remote = await startRemoteServer({
    instructions: "Sums and notes.",
    register: (server) => {
      registerDefaults(server, { calls: 0 });
      server.registerTool(
        "sum",
        {
          title: "Sum of numbers",
          description: "Adds numbers",
          inputSchema: z.object({ values: z.array(z.number()) }),
          outputSchema: z.object({ total: z.number() }),
        },
        ({ values }) => {
          const total = values.reduce((a, b) => a + b, 0);
          return { content: [{ type: "text", text: String(total) }], structuredContent: { total } };
        },
      );
      server.registerResource("note", new ResourceTemplate("note://{name}", { list: undefined }), { description: "A note by name" }, (uri, variables) => ({
        contents: [{ uri: uri.href, text: `note ${String(variables.name)}` }],
      }));
    },
  });
  t = await createTestEnv({ agents: { Manager }, time: "system" });
});

afterEach(async () => {
  await t.close();
  await remote.close();
  for (const server of scripted.splice(0)) await server.close();
});

describe("mcpConnections", () => {
  it("shows each server as the SDK's MCPClientConnection, live", async () => {
    const agent = t.get<Manager>("Manager", "a");
    const { id } = await agent.mount("remote", remote.url);
    expect(await agent.connectionOf(id)).toEqual({
      ids: [id],
      sameObject: true,
      url: remote.url,
      state: "ready",
      error: null,
      instructions: "Sums and notes.",
      tools: ["add", "echo", "sum"],
      prompts: ["greet"],
      resources: ["memo://readme"],
      resourceTemplates: ["note://{name}"],
      capabilities: expect.arrayContaining(["prompts", "resources", "tools"]),
      hasClient: true,
    });
  });
});

describe("resource templates", () => {
  it("are discovered and listed with their server, and a filled-in one can be read", async () => {
    const agent = t.get<Manager>("Manager", "a");
    const { id } = await agent.mount("remote", remote.url);
    expect(await agent.templates()).toEqual([{ name: "note", uriTemplate: "note://{name}", description: "A note by name", serverId: id }]);
    expect((await agent.read(id, "note://groceries")).contents).toEqual([{ uri: "note://groceries", text: "note groceries" }]);
    // Kept with the catalog: listed at once after a restart.
    await t.restart();
    expect((await t.get<Manager>("Manager", "a").templates()).map((template) => template.uriTemplate)).toEqual(["note://{name}"]);
  });

  it("a server that answers the template listing with an error has none, and its resources are kept", async () => {
    const server = await startScriptedServer((request, res) => {
      if (request.method === "initialize") {
        json(res, request.id!, { protocolVersion: "2025-06-18", capabilities: { resources: {} }, serverInfo: { name: "old", version: "1" } });
      } else if (request.method === "resources/list") {
        json(res, request.id!, { resources: [{ uri: "memo://a", name: "a" }] });
      } else if (request.method === "resources/templates/list") {
        json(res, request.id!, {}, -32603, "not supported here");
      } else return false;
      return true;
    });
    scripted.push(server);
    const agent = t.get<Manager>("Manager", "a");
    const { id, state } = await agent.mount("old", server.url);
    expect(state).toBe("ready");
    expect(await agent.connectionOf(id)).toMatchObject({ resources: ["memo://a"], resourceTemplates: [] });
  });
});

describe("AI tools", () => {
  it("carry the tool's title and a schema of the result whose structuredContent follows its outputSchema; unstable_getAITools is the same set", async () => {
    const agent = t.get<Manager>("Manager", "a");
    const { id } = await agent.mount("remote", remote.url);
    const tools = await agent.aiTools();
    expect(tools.unstableKeys).toEqual(tools.keys);
    expect(tools.described[`tool_${id}_add`]).toEqual({ title: undefined, outputSchema: undefined });
    expect(tools.described[`tool_${id}_sum`]!.title).toBe("Sum of numbers");
    expect(tools.described[`tool_${id}_sum`]!.outputSchema).toMatchObject({
      type: "object",
      required: ["content"],
      properties: { structuredContent: { type: "object", properties: { total: { type: "number" } }, required: ["total"] } },
    });
    expect(await agent.runAITool(`tool_${id}_sum`, { values: [1, 2, 3] })).toMatchObject({ structuredContent: { total: 6 } });
  });
});

describe("AI tools with shared definitions", () => {
  it("keep the outputSchema's $defs where its references point", async () => {
    const Address = z.object({ city: z.string() }).meta({ id: "Address" });
    const server = await startRemoteServer({
      register: (mcp) =>
        mcp.registerTool(
          "whereIs",
          { description: "Where someone lives", inputSchema: z.object({ who: z.string() }), outputSchema: z.object({ home: Address, work: Address }) },
          () => ({ content: [{ type: "text", text: "Paris" }], structuredContent: { home: { city: "Paris" }, work: { city: "Lyon" } } }),
        ),
    });
    try {
      const agent = t.get<Manager>("Manager", "defs");
      const { id } = await agent.mount("places", server.url);
      const { schema, declarations } = await agent.declarationOf(`tool_${id}_whereIs`);
      expect(schema).toMatchObject({
        $defs: { Address: { type: "object", properties: { city: { type: "string" } } } },
        properties: { structuredContent: { properties: { home: { $ref: "#/$defs/Address" } } } },
      });
      expect((schema as { properties: { structuredContent: object } }).properties.structuredContent).not.toHaveProperty("$defs");
      expect(declarations).toMatch(/home: Address;/);
      expect(declarations).toMatch(/interface Address \{\s*city: string;\s*\}/);
      expect(declarations).not.toMatch(/unknown;/);
    } finally {
      await server.close();
    }
  });
});

describe("closeConnection and closeAllConnections", () => {
  it("close the connection but keep the server, which connectToServer brings back", async () => {
    const agent = t.get<Manager>("Manager", "a");
    const { id } = await agent.mount("remote", remote.url);
    expect(remote.openSessions).toBe(1);
    expect(await agent.close(id)).toBe("closed");
    // Out of mcpConnections, still mounted: the clients' frame says not-connected, as the SDK's getMcpServers.
    expect(await agent.connectionOf(id)).toBeUndefined();
    expect((await agent.servers()).servers[id]).toMatchObject({ state: "not-connected", error: null });
    expect(await agent.tools()).toEqual([]);
    expect(await agent.attempt(id, "add", { a: 1, b: 1 })).toMatchObject({ ok: false, code: "not-connected" });
    expect(remote.openSessions).toBe(0);

    expect(await agent.reconnect(id)).toEqual({ connected: { state: "connected" }, discovered: { success: true, state: "ready" } });
    expect(await agent.call(id, "add", { a: 1, b: 1 })).toEqual({ content: [{ type: "text", text: "2" }] });

    expect(await agent.close()).toBe("closed");
    expect((await agent.servers()).servers[id]!.state).toBe("not-connected");
    expect(await agent.connectionOf(id)).toBeUndefined();
    expect(await agent.close("nope")).toMatch(/^unknown-server: /);
  });
});
