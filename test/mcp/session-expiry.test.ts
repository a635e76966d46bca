import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterEach, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { Notes } from "./fixtures/notes.ts";

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

it("removes a session idle for its time-to-live, and keeps one in use", async () => {
  const handler = Notes.serve("/mcp", { sessionTtl: "30 days" });
  t = await createTestEnv({ agents: { Notes }, fetch: (request, env, ctx) => handler.fetch(request, env, ctx) });
  const env = t.env as { Notes: { exists(name: string): boolean } };
  const open = async () => {
    const client = new Client({ name: "t", version: "1" });
    const transport = new StreamableHTTPClientTransport(new URL(`${await t!.url()}/mcp`));
    await client.connect(transport);
    return { client, transport, name: `streamable-http:${transport.sessionId}` };
  };
  const idle = await open();
  const busy = await open();
  await idle.client.close();

  await t.clock.advance("20 days");
  await busy.client.callTool({ name: "add_note", arguments: { text: "still here" } });
  await t.clock.advance("15 days");
  expect(env.Notes.exists(idle.name)).toBe(false);
  expect(env.Notes.exists(busy.name)).toBe(true);

  const again = await busy.client.callTool({ name: "list_notes", arguments: {} });
  expect(again.content).toEqual([{ type: "text", text: "still here" }]);
  await busy.client.close();
  await t.clock.advance("31 days");
  expect(env.Notes.exists(busy.name)).toBe(false);

  // A client holding an expired id is told to start over.
  const stale = await fetch(`${await t.url()}/mcp`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-session-id": busy.transport.sessionId! },
    body: JSON.stringify({ jsonrpc: "2.0", id: 9, method: "tools/list" }),
  });
  expect(stale.status).toBe(404);
});
