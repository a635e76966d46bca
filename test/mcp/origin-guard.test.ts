// Which pages may call an MCP endpoint (their Origin): the options replace the default list, "*"
// accepts any page, allowed host names keep the check on, and `cors` only sets headers — on a
// server listening on loopback, for McpAgent.serve() and createMcpHandler() alike.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMcpHandler, McpServer, type McpHandler, type StatelessMcpHandler } from "../../src/mcp/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";
import { rawPost } from "../support/raw-post.ts";
import { Desk } from "./fixtures/desk.ts";

const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
});
const JSON_AND_SSE = { "content-type": "application/json", accept: "application/json, text/event-stream" };

const factory = () => new McpServer({ name: "plain", version: "1.0.0" });
const endpoints: Record<string, McpHandler | StatelessMcpHandler> = {
  "/agent-cors": Desk.serve("/agent-cors", { cors: true }),
  "/agent-listed": Desk.serve("/agent-listed", { cors: true, allowedOriginHostnames: ["Inspector.example.com"] }),
  "/agent-any": Desk.serve("/agent-any", { allowedOriginHostnames: "*" }),
  "/agent-hosts": Desk.serve("/agent-hosts", { allowedHosts: ["localhost", "127.0.0.1"] }),
  "/agent-app": Desk.serve("/agent-app", { cors: { "Access-Control-Allow-Origin": "https://app.example.com" } }),
  "/plain-default": createMcpHandler(factory, { route: "/plain-default" }),
  "/plain-listed": createMcpHandler(factory, { route: "/plain-listed", allowedOriginHostnames: ["inspector.example.com"] }),
  "/plain-any": createMcpHandler(factory, { route: "/plain-any", allowedOriginHostnames: "*" }),
  "/plain-hosts": createMcpHandler(factory, { route: "/plain-hosts", allowedHostnames: ["localhost", "127.0.0.1"] }),
};

let harness: Harness;
beforeAll(async () => {
  harness = await startHarness({ Desk }, { fetch: (request, env, ctx) => endpoints[new URL(request.url).pathname]!.fetch(request, env, ctx) });
});
afterAll(async () => {
  await harness.close();
});

/** Status of an initialize POSTed from a page at `origin` (none: a client outside a browser), and the refusal's message. */
async function initializeFrom(path: string, origin?: string): Promise<{ status: number; message?: string; allowOrigin: string | null }> {
  const response = await fetch(`${harness.url}${path}`, { method: "POST", headers: { ...JSON_AND_SSE, ...(origin ? { origin } : {}) }, body: INITIALIZE });
  const body = await response.text();
  const message = response.status === 403 ? (JSON.parse(body) as { error: { message: string } }).error.message : undefined;
  return { status: response.status, ...(message ? { message } : {}), allowOrigin: response.headers.get("access-control-allow-origin") };
}

describe("McpAgent.serve()", () => {
  it("keeps pages of other sites out with cors: true, and says which option lets them in", async () => {
    expect((await initializeFrom("/agent-cors", "http://localhost:6274")).status).toBe(200);
    const refused = await initializeFrom("/agent-cors", "https://inspector.example.com");
    expect(refused).toMatchObject({ status: 403, allowOrigin: "*" });
    expect(refused.message).toContain("allowedOriginHostnames");
  });

  it("lets in exactly the pages allowedOriginHostnames names, in place of the local ones", async () => {
    expect(await initializeFrom("/agent-listed", "https://inspector.example.com")).toMatchObject({ status: 200, allowOrigin: "*" });
    expect((await initializeFrom("/agent-listed", "https://evil.example")).status).toBe(403);
    expect((await initializeFrom("/agent-listed", "http://localhost:6274")).status).toBe(403);
    expect((await initializeFrom("/agent-listed")).status).toBe(200);
  });

  it("accepts any page with allowedOriginHostnames: \"*\"", async () => {
    for (const origin of ["https://inspector.example.com", "null"]) expect((await initializeFrom("/agent-any", origin)).status).toBe(200);
  });

  it("keeps checking Origin when allowedHosts is set", async () => {
    for (const origin of ["https://inspector.example.com", "https://evil.example", "null"]) {
      expect((await initializeFrom("/agent-hosts", origin)).status).toBe(403);
    }
    expect((await initializeFrom("/agent-hosts", "http://localhost:6274")).status).toBe(200);
    expect((await initializeFrom("/agent-hosts")).status).toBe(200);
  });

  it("accepts by default the one origin its CORS headers name", async () => {
    expect((await initializeFrom("/agent-app", "https://app.example.com")).status).toBe(200);
    expect((await initializeFrom("/agent-app", "https://evil.example")).status).toBe(403);
  });

  it("refuses an allowedOriginHostnames that is not a list of names or \"*\"", () => {
    expect(() => Desk.serve("/x", { allowedOriginHostnames: "inspector.example.com" as unknown as string[] })).toThrow(/allowedOriginHostnames/);
  });
});

describe("createMcpHandler()", () => {
  it("checks local pages by default", async () => {
    expect((await initializeFrom("/plain-default", "http://localhost:6274")).status).toBe(200);
    expect((await initializeFrom("/plain-default", "https://inspector.example.com")).status).toBe(403);
  });

  it("lets in exactly the pages allowedOriginHostnames names, on a local endpoint too", async () => {
    expect((await initializeFrom("/plain-listed", "https://inspector.example.com")).status).toBe(200);
    expect((await initializeFrom("/plain-listed", "https://evil.example")).status).toBe(403);
    expect((await initializeFrom("/plain-listed", "http://localhost:6274")).status).toBe(403);
  });

  it("accepts any page with \"*\", and still refuses a Host that is not local", async () => {
    expect((await initializeFrom("/plain-any", "https://inspector.example.com")).status).toBe(200);
    const rebinding = await rawPost(harness.url, "/plain-any", { ...JSON_AND_SSE, host: "evil.example", origin: "http://evil.example" }, INITIALIZE);
    expect(rebinding.status).toBe(403);
    expect(rebinding.body).toContain("allowedHostnames");
  });

  it("keeps checking Origin when allowedHostnames is set", async () => {
    expect((await initializeFrom("/plain-hosts", "https://evil.example")).status).toBe(403);
    expect((await initializeFrom("/plain-hosts", "http://127.0.0.1:6274")).status).toBe(200);
  });
});
