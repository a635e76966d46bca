/**
 * MCP endpoints at their edges, over loopback: a token verifier that fails for a reason of its own
 * (not the token's), an initialize naming an ended session, and createMcpHandler's direct-call
 * `parsedBody` and body limit above the SDK's default for a 2025 client.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createMcpHandler, McpServer } from "../../src/mcp/index.ts";
import { startHarness, type Harness } from "../support/harness.ts";
import { loggedErrors } from "../support/logged-errors.ts";
import { Notes } from "./fixtures/notes.ts";

const headers = { "content-type": "application/json", accept: "application/json, text/event-stream" };
const initialize = {
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
};

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function serveNotes(verifyToken?: () => never): Promise<string> {
  let handler: ReturnType<typeof Notes.serve> | undefined;
  harness = await startHarness(
    { Notes },
    {
      fetch: (request, env, ctx) => {
        handler ??= Notes.serve("/mcp", verifyToken ? { auth: { authorizationServers: ["https://auth.example"], verifyToken } } : {});
        return handler.fetch(request, env, ctx);
      },
    },
  );
  return `${harness.url}/mcp`;
}

describe("MCP endpoints at their edges", () => {
  it("answers 500 without the reason when the token's verifier fails for a reason of its own, and logs it", async () => {
    const logged = loggedErrors();
    const url = await serveNotes(() => {
      throw new Error("connect ECONNREFUSED 10.1.2.3:5432 (pg user=admin)");
    });
    const response = await fetch(url, { method: "POST", headers: { ...headers, authorization: "Bearer abc" }, body: JSON.stringify(initialize) });
    expect(response.status).toBe(500);
    expect(response.headers.get("www-authenticate")).toBeNull(); // the client keeps its token
    const body = await response.text();
    expect(body).not.toContain("ECONNREFUSED");
    expect(body).toContain("could not be verified");
    expect(logged.text()).toContain("ECONNREFUSED 10.1.2.3:5432");
    logged.restore();
  });

  it("answers an initialize naming an ended or unknown session with 404, as MCP asks", async () => {
    const url = await serveNotes();
    const opened = await fetch(url, { method: "POST", headers, body: JSON.stringify(initialize) });
    const session = opened.headers.get("mcp-session-id")!;
    await opened.body?.cancel();
    expect((await fetch(url, { method: "DELETE", headers: { ...headers, "mcp-session-id": session } })).status).toBe(204);
    for (const id of [session, "never-existed"]) {
      const again = await fetch(url, { method: "POST", headers: { ...headers, "mcp-session-id": id }, body: JSON.stringify(initialize) });
      expect(again.status, id).toBe(404);
      await again.body?.cancel();
    }
  });

  it("createMcpHandler serves a 2025 request from parsedBody when the body was read already, and above 4 MiB when allowed", async () => {
    const server = () => {
      const made = new McpServer({ name: "echo", version: "1" });
      made.registerTool("echo", {}, async (extra) => ({ content: [{ type: "text", text: String(JSON.stringify(extra).length) }] }));
      return made;
    };
    const handler = createMcpHandler(server, { maxRequestBodySize: 16 * 1024 * 1024 });
    const h = { ...headers, "mcp-protocol-version": "2025-11-25", host: "localhost" };
    const read = new Request("http://localhost/mcp", { method: "POST", headers: h, body: JSON.stringify(initialize) });
    await read.json(); // a middleware parsed it first
    const fromParsed = await handler.fetch(read, { parsedBody: initialize });
    expect(fromParsed.status).toBe(200);
    expect(await fromParsed.text()).toContain('"protocolVersion":"2025-11-25"');
    const large = { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: "echo", arguments: { pad: "x".repeat(5 * 1024 * 1024) } } };
    const big = await handler.fetch(new Request("http://localhost/mcp", { method: "POST", headers: h, body: JSON.stringify(large) }));
    expect(big.status).toBe(200);
    expect(await big.text()).not.toContain("Unsupported protocol version");
  });
});
