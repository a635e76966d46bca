// maxSessions: every MCP session is an agent with its own SQLite file, so an endpoint holds a bounded
// number of them; an initialize past the limit is refused, and sessions that end free their place.
import { afterEach, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { Notes } from "./fixtures/notes.ts";

const JSON_AND_SSE = { "content-type": "application/json", accept: "application/json, text/event-stream" };
const INITIALIZE = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "t", version: "1" } },
});

let t: TestEnv | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

async function start(): Promise<string> {
  const handler = Notes.serve("/mcp", { transport: "auto", maxSessions: 2, sessionTtl: "1 day" });
  t = await createTestEnv({ agents: { Notes }, fetch: (request, env, ctx) => handler.fetch(request, env, ctx) });
  return `${await t.url()}/mcp`;
}

async function initialize(url: string): Promise<{ status: number; sessionId: string | null; body: string }> {
  const response = await fetch(url, { method: "POST", headers: JSON_AND_SSE, body: INITIALIZE });
  return { status: response.status, sessionId: response.headers.get("mcp-session-id"), body: await response.text() };
}

it("refuses an initialize past maxSessions with 503 naming the limit", async () => {
  const url = await start();
  expect((await initialize(url)).status).toBe(200);
  expect((await initialize(url)).status).toBe(200);
  const refused = await fetch(url, { method: "POST", headers: JSON_AND_SSE, body: INITIALIZE });
  expect(refused.status).toBe(503);
  expect(refused.headers.get("mcp-session-id")).toBeNull();
  expect(await refused.json()).toMatchObject({ error: { code: -32000, message: expect.stringMatching(/limit of 2 live sessions \(maxSessions\)/) } });

  // A legacy SSE stream is a session too.
  const stream = await fetch(url, { headers: { accept: "text/event-stream" } });
  expect(stream.status).toBe(503);
  await stream.body?.cancel();
});

it("frees the place of a session the client ends (DELETE) or that expires", async () => {
  const url = await start();
  const first = await initialize(url);
  expect((await initialize(url)).status).toBe(200);
  expect((await initialize(url)).status).toBe(503);

  const ended = await fetch(url, { method: "DELETE", headers: { "mcp-session-id": first.sessionId! } });
  expect(ended.status).toBe(204);
  await expect.poll(async () => (await initialize(url)).status).toBe(200);
  expect((await initialize(url)).status).toBe(503);

  await t!.clock.advance("2 days");
  expect((await initialize(url)).status).toBe(200);
  expect((await initialize(url)).status).toBe(200);
  expect((await initialize(url)).status).toBe(503);
});

it("frees the place of a legacy SSE session when its stream closes", async () => {
  const url = await start();
  expect((await initialize(url)).status).toBe(200);
  const controller = new AbortController();
  const stream = await fetch(url, { headers: { accept: "text/event-stream" }, signal: controller.signal });
  expect(stream.status).toBe(200);
  expect((await initialize(url)).status).toBe(503);
  controller.abort();
  await expect.poll(async () => (await initialize(url)).status).toBe(200);
});

it("frees the place of an initialize that opened no session", async () => {
  const url = await start();
  // The agent answers an initialize whose params it cannot read with an error, and keeps no session.
  const broken = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: 7 } });
  for (let i = 0; i < 3; i++) {
    const refused = await fetch(url, { method: "POST", headers: JSON_AND_SSE, body: broken });
    expect(refused.ok).toBe(false);
    await refused.body?.cancel();
  }
  expect((await initialize(url)).status).toBe(200);
  expect((await initialize(url)).status).toBe(200);
  expect((await initialize(url)).status).toBe(503);
});

it("frees a session's place in every endpoint that counted it when it ends", async () => {
  // Two paths serving one class: a session opened at one is known (and counted) at the other.
  const first = Notes.serve("/a", { maxSessions: 1 });
  const second = Notes.serve("/b", { maxSessions: 1 });
  t = await createTestEnv({
    agents: { Notes },
    fetch: (request, env, ctx) => (new URL(request.url).pathname === "/a" ? first : second).fetch(request, env, ctx),
  });
  const origin = await t.url();
  const opened = await initialize(`${origin}/a`);
  expect(opened.status).toBe(200);
  const used = await fetch(`${origin}/b`, {
    method: "POST",
    headers: { ...JSON_AND_SSE, "mcp-session-id": opened.sessionId! },
    body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "tools/list" }),
  });
  expect(used.status).toBe(200);
  await used.text();
  expect((await initialize(`${origin}/a`)).status).toBe(503);
  expect((await initialize(`${origin}/b`)).status).toBe(503);

  const ended = await fetch(`${origin}/b`, { method: "DELETE", headers: { "mcp-session-id": opened.sessionId! } });
  expect(ended.status).toBe(204);
  await expect.poll(async () => (await initialize(`${origin}/a`)).status).toBe(200);
  await expect.poll(async () => (await initialize(`${origin}/b`)).status).toBe(200);
});
