// Tool handlers see the HTTP request behind a call as extra.requestInfo (its headers), as with the
// Agents SDK, on Streamable HTTP and on the legacy SSE transport.
import { Client, SSEClientTransport, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Harness } from "../support/harness.ts";
import { startDeskBothTransports, textOf } from "./fixtures/desk-host.ts";

let harness: Harness;
beforeAll(async () => {
  harness = await startDeskBothTransports();
});
afterAll(() => harness.close());

type Seen = { requestInfo: { headers: Record<string, string> } | null; requestId: string | number | null };

async function headersSeen(client: Client): Promise<Seen> {
  return JSON.parse(textOf(await client.callTool({ name: "headers", arguments: {} }))) as Seen;
}

describe("extra.requestInfo", () => {
  it("carries the POST's headers on Streamable HTTP", async () => {
    const client = new Client({ name: "test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${harness.url}/mcp`), { requestInit: { headers: { "x-trace": "t-1" } } }));
    const seen = await headersSeen(client);
    expect(seen.requestInfo?.headers["x-trace"]).toBe("t-1");
    expect(seen.requestInfo?.headers["mcp-session-id"]).toBeDefined();
    expect(seen.requestInfo?.headers["content-type"]).toBe("application/json");
    expect(seen.requestId).not.toBeNull();
    await client.close();
  });

  it("carries the message POST's headers on the legacy SSE transport", async () => {
    const client = new Client({ name: "test", version: "1.0.0" });
    await client.connect(new SSEClientTransport(new URL(`${harness.url}/sse`), { requestInit: { headers: { "x-trace": "t-2" } } }));
    const seen = await headersSeen(client);
    expect(seen.requestInfo?.headers["x-trace"]).toBe("t-2");
    expect(seen.requestId).not.toBeNull();
    await client.close();
  });
});
