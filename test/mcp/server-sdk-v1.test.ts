import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { McpServer as V1McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Host, serve } from "../../src/index.ts";
import { createMcpHandler, McpAgent } from "../../src/mcp/index.ts";
import { tempDir } from "../support/harness.ts";
import { CounterV1 } from "./fixtures/counter-v1.ts";

/** A server field that is no MCP server at all: what Hearth cannot serve. */
class NotAServer extends McpAgent {
  server = { name: "demo" } as unknown as McpAgent["server"];
  init(): void {}
  override onError(_connection: unknown, error?: unknown): void {
    console.error("NotAServer initialization error:", error);
  }
}

const streamable = CounterV1.serve("/mcp");
const sse = CounterV1.serveSSE("/sse");
const broken = NotAServer.serve("/broken");

const text = (result: unknown) => (result as { content: Array<{ text: string }> }).content[0]!.text;

describe("McpAgent with an McpServer from @modelcontextprotocol/sdk v1", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    vi.restoreAllMocks();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function start() {
    const dir = tempDir();
    const host = new Host({ dataDir: dir.path, agents: { CounterV1, NotAServer } });
    const server = await serve({
      host,
      port: 0,
      fetch: (request, env, ctx) => {
        const path = new URL(request.url).pathname;
        return (path.startsWith("/sse") ? sse : path.startsWith("/broken") ? broken : streamable).fetch(request, env, ctx);
      },
    });
    cleanups.push(dir.remove, async () => {
      await server.close();
      await host.close();
    });
    return server.url;
  }

  async function connect(transport: Transport) {
    const client = new Client({ name: "v1-client", version: "1.0.0" });
    await client.connect(transport);
    cleanups.push(() => client.close());
    return client;
  }

  async function exercise(client: Client) {
    const { tools } = await client.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(["add", "agent"]);
    expect(text(await client.callTool({ name: "add", arguments: { a: 4 } }))).toBe("Added 4, total is now 5");
    const { contents } = await client.readResource({ uri: "mcp://resource/counter" });
    expect(contents).toEqual([{ uri: "mcp://resource/counter", text: "5" }]);
    // v1 handlers read the HTTP request as `extra.requestInfo`, as on Cloudflare.
    expect(text(await client.callTool({ name: "agent", arguments: {} }))).toMatch(/\S/);
    expect(text(await client.callTool({ name: "agent", arguments: {} }))).not.toBe("none");
  }

  it("serves tools and resources over Streamable HTTP", async () => {
    const url = await start();
    const client = await connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
    await exercise(client);
  });

  it("serves tools and resources over the legacy SSE transport", async () => {
    const url = await start();
    const client = await connect(new SSEClientTransport(new URL(`${url}/sse`)));
    await exercise(client);
  });

  it("refuses a server field it cannot serve with an error naming the cause, logged despite an onError override", async () => {
    const url = await start();
    const lines: string[] = [];
    vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
      lines.push(args.map((arg) => (arg instanceof Error ? arg.message : String(arg))).join(" "));
    });
    const response = await fetch(`${url}/broken`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "initialize",
        params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } },
      }),
    });
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ error: { code: -32603, message: "Internal error (logged by the server)" } });
    const logged = lines.find((line) => line.startsWith("[hearth] NotAServer/"));
    expect(logged).toBeDefined();
    expect(logged).toContain("(POST /broken)");
    expect(logged).toContain("NotAServer.server is not an MCP server Hearth can serve");
    expect(logged).toContain("@modelcontextprotocol/sdk");
    // The override was called too (with the error as its first argument, so it prints "undefined").
    expect(lines).toContain("NotAServer initialization error: undefined");
  });
});

describe("createMcpHandler with an McpServer from @modelcontextprotocol/sdk v1", () => {
  it("refuses the instance with an error naming v1", () => {
    expect(() => createMcpHandler(new V1McpServer({ name: "v1", version: "1.0.0" }) as never)).toThrow(
      /this McpServer comes from @modelcontextprotocol\/sdk v1\.x/,
    );
  });

  it("answers 500 and tells onerror why when a factory returns one", async () => {
    const errors: Error[] = [];
    const handler = createMcpHandler(() => new V1McpServer({ name: "v1", version: "1.0.0" }) as never, { onerror: (error) => errors.push(error) });
    const dir = tempDir();
    const host = new Host({ dataDir: dir.path, agents: {} });
    const server = await serve({ host, port: 0, fetch: (request, env, ctx) => handler.fetch(request, env, ctx) });
    try {
      const client = new Client({ name: "v1-client", version: "1.0.0" });
      await expect(client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)))).rejects.toThrow(/Internal server error/);
      expect(errors.map((error) => error.message)).toEqual([expect.stringMatching(/this McpServer comes from @modelcontextprotocol\/sdk v1\.x/)]);
    } finally {
      await server.close();
      await host.close();
      dir.remove();
    }
  });
});
