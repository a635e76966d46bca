// createMcpHandler(server, options): a stateless MCP endpoint without an agent, as documented for
// the Agents SDK — route, CORS, the caller's identity (ctx.props → getMcpAuthContext), both protocol
// generations, and no way to ask the client anything without a session.
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { request as httpRequest } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { z } from "zod";
import { createMcpHandler, getMcpAuthContext, McpServer, type CreateMcpHandlerOptions, type McpRequestExtra } from "../../src/mcp/index.ts";
import type { WorkerFetch } from "../../src/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";
import { startOAuthServer } from "../support/oauth-server.ts";
import { textOf } from "./fixtures/desk-host.ts";

const text = (value: string) => ({ content: [{ type: "text" as const, text: value }] });

function createServer(): McpServer {
  const server = new McpServer({ name: "hello", version: "1.0.0" });
  server.registerTool("hello", { inputSchema: z.object({ name: z.string() }) }, async ({ name }) => text(`Hello, ${name}!`));
  server.registerTool("whoami", {}, async (extra: McpRequestExtra) =>
    text(JSON.stringify({
      props: getMcpAuthContext()?.props ?? null,
      trace: extra.requestInfo?.headers["x-trace"] ?? null,
      clientId: extra.authInfo?.clientId ?? null,
    })),
  );
  server.registerTool("ask", {}, async (ctx) => {
    try {
      await ctx.mcpReq.elicitInput({ message: "Sure?", requestedSchema: { type: "object", properties: {} } });
      return text("asked");
    } catch (error) {
      return text(`refused: ${(error as Error).message}`);
    }
  });
  server.registerTool("ping_client", {}, async () => {
    try {
      await server.server.ping();
      return text("pinged");
    } catch (error) {
      return text(`refused: ${(error as Error).message}`);
    }
  });
  return server;
}

let questionsAsked = 0;
const harnesses: Harness[] = [];
const clients: Client[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  for (const harness of harnesses.splice(0)) await harness.close();
});

/** Serves `handler` behind a worker that hands the `x-user` header over as ctx.props. */
async function serveHandler(handler: ReturnType<typeof createMcpHandler>): Promise<string> {
  const fetch: WorkerFetch = (request, env, ctx) => {
    const user = request.headers.get("x-user");
    return handler(request, env, user === null ? ctx : { ...ctx, props: { user } });
  };
  const harness = await startHarness({}, { fetch });
  harnesses.push(harness);
  return harness.url;
}

async function connect(url: string, options: { headers?: Record<string, string>; modern?: boolean; elicitation?: boolean } = {}) {
  const client = new Client(
    { name: "test", version: "1.0.0" },
    {
      ...(options.modern ? { versionNegotiation: { mode: { pin: "2026-07-28" } } } : {}),
      ...(options.elicitation ? { capabilities: { elicitation: { form: {} } } } : {}),
    },
  );
  if (options.elicitation) {
    client.setRequestHandler("elicitation/create", async () => {
      questionsAsked++;
      return { action: "accept" as const, content: {} };
    });
  }
  const transport = new StreamableHTTPClientTransport(new URL(url), options.headers ? { requestInit: { headers: options.headers } } : {});
  await client.connect(transport);
  clients.push(client);
  return { client, transport };
}

const start = async (options?: CreateMcpHandlerOptions) => serveHandler(createMcpHandler(createServer, options));

describe("createMcpHandler", () => {
  it("serves 2025 clients statelessly (no session) and 2026-07-28 clients", async () => {
    const url = await start();
    const legacy = await connect(`${url}/mcp`);
    expect(legacy.transport.sessionId).toBeUndefined();
    expect((await legacy.client.listTools()).tools.map((tool) => tool.name).sort()).toEqual(["ask", "hello", "ping_client", "whoami"]);
    expect(textOf(await legacy.client.callTool({ name: "hello", arguments: { name: "Ada" } }))).toBe("Hello, Ada!");

    const modern = await connect(`${url}/mcp`, { modern: true });
    expect(textOf(await modern.client.callTool({ name: "hello", arguments: { name: "Grace" } }))).toBe("Hello, Grace!");
  });

  it("gives handlers the caller's identity (ctx.props, or authContext) and the request's headers", async () => {
    const url = await start();
    const { client } = await connect(`${url}/mcp`, { headers: { "x-user": "ada", "x-trace": "t-9" } });
    expect(JSON.parse(textOf(await client.callTool({ name: "whoami", arguments: {} })))).toEqual({ props: { user: "ada" }, trace: "t-9", clientId: null });

    const fixed = await start({ authContext: { props: { user: "service" } } });
    const other = await connect(`${fixed}/mcp`, { headers: { "x-user": "ada" }, modern: true });
    expect(JSON.parse(textOf(await other.client.callTool({ name: "whoami", arguments: {} })))).toMatchObject({ props: { user: "service" } });
  });

  it("passes authInfo given to fetch(request, { authInfo }), as on Cloudflare", async () => {
    const handler = createMcpHandler(createServer);
    const call = (id: number, method: string, params: Record<string, unknown>) =>
      handler.fetch(
        new Request("http://localhost/mcp", {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
          body: JSON.stringify({ jsonrpc: "2.0", id, method, params }),
        }),
        { authInfo: { token: "t", clientId: "client-1", scopes: [] } },
      );
    const response = await call(1, "tools/call", { name: "whoami", arguments: {} });
    const body = await response.text();
    expect(body).toContain('\\"clientId\\":\\"client-1\\"');
  });

  it("cannot ask the client anything without a session, and says so at once", async () => {
    const url = await start();
    const { client } = await connect(`${url}/mcp`, { elicitation: true });
    // Each request meets a fresh server that never saw the client's capabilities: the SDK refuses.
    expect(textOf(await client.callTool({ name: "ask", arguments: {} }))).toMatch(/^refused: /);
    // Any other server-to-client request is answered on the client's behalf, with the way out.
    expect(textOf(await client.callTool({ name: "ping_client", arguments: {} }))).toMatch(/^refused: .*cannot ask the client anything.*McpAgent/);
    expect(questionsAsked).toBe(0);
  });

  it("serves one route, answers preflights 200 with CORS headers (or none with corsOptions: false)", async () => {
    const url = await start();
    expect((await fetch(`${url}/elsewhere`, { method: "POST" })).status).toBe(404);
    const preflight = await fetch(`${url}/mcp`, { method: "OPTIONS" });
    expect(preflight.status).toBe(200);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("*");
    expect(preflight.headers.get("access-control-expose-headers")).toBe("mcp-session-id");
    const get = await fetch(`${url}/mcp`, { headers: { accept: "text/event-stream" } });
    expect(get.status).toBe(405);
    expect(get.headers.get("access-control-allow-origin")).toBe("*");

    const closed = await start({ route: "/tools", corsOptions: false });
    const response = await fetch(`${closed}/tools`, { method: "GET", headers: { accept: "text/event-stream" } });
    expect(response.status).toBe(405);
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("refuses DNS-rebinding requests on a local endpoint", async () => {
    const url = await start();
    const status = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(new URL("/mcp", url), { method: "POST", headers: { host: "evil.example", "content-type": "application/json" } }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on("error", reject);
      request.end("{}");
    });
    expect(status).toBe(403);
  });

  it("with legacy: \"reject\", serves 2026-07-28 only", async () => {
    const url = await start({ legacy: "reject" });
    await expect(connect(`${url}/mcp`)).rejects.toThrow(/nsupported protocol version/);
    const modern = await connect(`${url}/mcp`, { modern: true });
    expect(textOf(await modern.client.callTool({ name: "hello", arguments: { name: "Lin" } }))).toBe("Hello, Lin!");
  });

  it("serves a single McpServer instance one request at a time", async () => {
    const url = await serveHandler(createMcpHandler(createServer()));
    const [a, b] = await Promise.all([connect(`${url}/mcp`), connect(`${url}/mcp`)]);
    const answers = await Promise.all([
      a.client.callTool({ name: "hello", arguments: { name: "A" } }),
      b.client.callTool({ name: "hello", arguments: { name: "B" } }),
      a.client.callTool({ name: "hello", arguments: { name: "C" } }),
    ]);
    expect(answers.map(textOf)).toEqual(["Hello, A!", "Hello, B!", "Hello, C!"]);
  });

  it("serves a single McpServer instance while another client is still uploading its request", async () => {
    const handler = createMcpHandler(createServer());
    let uploadStarted!: () => void;
    const started = new Promise<void>((resolve) => (uploadStarted = resolve));
    const harness = await startHarness({}, {
      fetch: (request, env, ctx) => {
        if (request.headers.has("x-slow")) uploadStarted();
        return handler(request, env, ctx);
      },
    });
    harnesses.push(harness);
    // Headers and the first bytes of a 200-byte body, the rest never sent.
    const slow = httpRequest(new URL("/mcp", harness.url), {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "content-length": "200", "x-slow": "1" },
    });
    slow.on("error", () => {});
    slow.write('{"jsonrpc"');
    await started;
    try {
      const { client } = await connect(`${harness.url}/mcp`);
      expect(textOf(await client.callTool({ name: "hello", arguments: { name: "A" } }))).toBe("Hello, A!");
      const refused = await fetch(`${harness.url}/mcp`, { method: "POST", headers: { "content-type": "application/json", accept: "application/json, text/event-stream", origin: "https://evil.example" }, body: "{}" });
      expect(refused.status).toBe(403);
    } finally {
      slow.destroy();
    }
  });

  it("serves a single McpServer instance to 2025 and 2026-07-28 clients in any order, each request negotiating its own version", async () => {
    const server = createServer();
    server.registerTool("client_name", {}, async () => text(server.server.getClientVersion()?.name ?? "none"));
    const url = await serveHandler(createMcpHandler(server));
    const connectAs = async (name: string, modern: boolean) => {
      const client = new Client({ name, version: "1.0.0" }, modern ? { versionNegotiation: { mode: { pin: "2026-07-28" } } } : {});
      await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
      clients.push(client);
      return client;
    };
    const modern = await connectAs("modern", true);
    expect(textOf(await modern.callTool({ name: "hello", arguments: { name: "Ada" } }))).toBe("Hello, Ada!");
    // The instance answered a 2026-07-28 request: a 2025 client still initializes and calls.
    const legacy = await connectAs("legacy", false);
    expect(legacy.getNegotiatedProtocolVersion()).not.toBe("2026-07-28");
    expect(textOf(await legacy.callTool({ name: "hello", arguments: { name: "Lin" } }))).toBe("Hello, Lin!");
    // No request sees the client of an earlier one: a 2025 call after the handshake names none.
    expect(textOf(await modern.callTool({ name: "client_name", arguments: {} }))).toBe("modern");
    expect(textOf(await legacy.callTool({ name: "client_name", arguments: {} }))).toBe("none");
    expect(textOf(await modern.callTool({ name: "hello", arguments: { name: "Grace" } }))).toBe("Hello, Grace!");
    const again = await connectAs("again", false);
    expect(textOf(await again.callTool({ name: "hello", arguments: { name: "Kay" } }))).toBe("Hello, Kay!");
  });

  it("serves a single McpServer instance while a subscriptions/listen stream stays open", async () => {
    const url = await serveHandler(createMcpHandler(createServer()));
    const modern = await connect(`${url}/mcp`, { modern: true });
    const subscription = await modern.client.listen({ toolsListChanged: true });
    expect(textOf(await modern.client.callTool({ name: "hello", arguments: { name: "Ada" } }))).toBe("Hello, Ada!");
    const other = await connect(`${url}/mcp`, { modern: true });
    expect(textOf(await other.client.callTool({ name: "hello", arguments: { name: "Lin" } }))).toBe("Hello, Lin!");
    await subscription.close();
  });

  it("serves a single McpServer instance after an answer whose body nobody reads", async () => {
    const handler = createMcpHandler(createServer());
    const post = (id: number, method: string, params: Record<string, unknown>) =>
      handler.fetch(
        new Request("http://localhost/mcp", {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
          body: JSON.stringify({ jsonrpc: "2.0", id, method, params }),
        }),
        { parsedBody: { jsonrpc: "2.0", id, method, params } },
      );
    const unread = await post(1, "tools/call", { name: "hello", arguments: { name: "A" } });
    expect(unread.headers.get("content-type")).toContain("text/event-stream");
    const next = await post(2, "tools/call", { name: "hello", arguments: { name: "B" } });
    expect(await next.text()).toContain("Hello, B!");
    await unread.body?.cancel();
  });

  it("cuts a single McpServer instance's answer whose reader leaves more than maxSseBufferBytes unread, and serves the next request", async () => {
    const server = createServer();
    let settled!: () => void;
    const stopped = new Promise<void>((resolve) => (settled = resolve));
    // 64 progress notifications of 64 KiB each (4 MiB) on the answer's event stream.
    server.registerTool("flood", {}, async (ctx) => {
      const progressToken = ctx.mcpReq._meta?.progressToken ?? 0;
      try {
        for (let i = 1; i <= 64; i++) {
          await ctx.mcpReq.notify({ method: "notifications/progress", params: { progressToken, progress: i, message: "x".repeat(64 * 1024) } });
        }
        return text("flooded");
      } finally {
        settled();
      }
    });
    const errors: Error[] = [];
    const handler = createMcpHandler(server, {
      maxSseBufferBytes: 256 * 1024,
      onerror: (error) => {
        errors.push(error);
        settled();
      },
    });
    const post = (id: number, params: Record<string, unknown>) =>
      handler.fetch(
        new Request("http://localhost/mcp", {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
          body: JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params }),
        }),
        { parsedBody: { jsonrpc: "2.0", id, method: "tools/call", params } },
      );
    const unread = await post(1, { name: "flood", arguments: {}, _meta: { progressToken: 7 } });
    expect(unread.headers.get("content-type")).toContain("text/event-stream");
    // Nobody read it while it was produced (until the handler is done, or the answer was cut): it was
    // cut once 256 KiB waited, and what waited was dropped.
    await stopped;
    await expect(new Response(unread.body).text()).rejects.toThrow(/more than 262144 bytes unread \(maxSseBufferBytes\)/);
    expect(errors.map((error) => error.message).join("\n")).toMatch(/more than 262144 bytes unread \(maxSseBufferBytes\)/);
    const next = await post(2, { name: "hello", arguments: { name: "B" } });
    expect(await next.text()).toContain("Hello, B!");
    expect(() => createMcpHandler(createServer(), { maxSseBufferBytes: 0 })).toThrow(/maxSseBufferBytes/);
  });

  it("passes one event larger than maxSseBufferBytes to a client that reads it (only what is left waiting counts)", async () => {
    const server = createServer();
    server.registerTool("big", {}, async (ctx) => {
      await ctx.mcpReq.notify({ method: "notifications/progress", params: { progressToken: ctx.mcpReq._meta?.progressToken ?? 0, progress: 1 } });
      return text("y".repeat(1024 * 1024));
    });
    const handler = createMcpHandler(server, { maxSseBufferBytes: 256 * 1024 });
    const params = { name: "big", arguments: {}, _meta: { progressToken: 3 } };
    const answer = await handler.fetch(
      new Request("http://localhost/mcp", {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params }),
      }),
      { parsedBody: { jsonrpc: "2.0", id: 1, method: "tools/call", params } },
    );
    expect(answer.headers.get("content-type")).toContain("text/event-stream");
    const body = await answer.text();
    expect(body).toContain("y".repeat(1024 * 1024));
  });

  it("protects the endpoint with auth: metadata, 401 without a token, the token's identity with one", async () => {
    const issuer = await startOAuthServer();
    try {
      const url = await start({ auth: { authorizationServers: [issuer.url], jwks: { url: issuer.jwksUrl, issuer: issuer.url } } });
      const metadata = await fetch(`${url}/.well-known/oauth-protected-resource/mcp`);
      expect(await metadata.json()).toMatchObject({ resource: `${url}/mcp`, authorization_servers: [issuer.url] });
      const anonymous = await fetch(`${url}/mcp`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get("www-authenticate")).toContain("resource_metadata=");

      const token = await issuer.issueAccessToken({ sub: "alice", scope: "mcp", aud: `${url}/mcp`, client_id: "app-1" });
      const { client } = await connect(`${url}/mcp`, { headers: { authorization: `Bearer ${token}` } });
      const seen = JSON.parse(textOf(await client.callTool({ name: "whoami", arguments: {} }))) as { props: { sub: string }; clientId: string };
      expect(seen.props.sub).toBe("alice");
      expect(seen.clientId).toBe("app-1");
    } finally {
      await issuer.close();
    }
  });

  it("refuses what is not a server or a factory", () => {
    expect(() => createMcpHandler({} as McpServer)).toThrow(/needs an McpServer/);
  });
});
