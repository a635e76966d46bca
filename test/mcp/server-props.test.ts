// ctx.props — how a wrapping worker (an OAuth provider on Cloudflare) hands the caller's identity to
// McpAgent.serve(path).fetch(request, env, ctx) — becomes the session's this.props. Without a bearer
// gate it is also the session's owner: a request handed other props (or none) gets 404.
import { afterEach, describe, expect, it } from "vitest";
import type { Harness } from "../support/harness.ts";
import { McpAgent, McpServer } from "../../src/mcp/index.ts";
import { ownerOfProps } from "../../src/mcp/server/request-context.ts";
import { createTestEnv, type TestEnv } from "../../src/testing/index.ts";
import { Desk } from "./fixtures/desk.ts";
import { sseClient, startDesk, streamableClient, textOf } from "./fixtures/desk-host.ts";

const harnesses: Harness[] = [];
let t: TestEnv | undefined;
afterEach(async () => {
  for (const harness of harnesses.splice(0)) await harness.close();
  await t?.close();
  t = undefined;
});

/** What `this.props` held in each onStart, and in each scheduled reminder. */
const seen: { starts: unknown[]; reminders: unknown[] } = { starts: [], reminders: [] };

/** Schedules a reminder from a tool: the reminder runs later, outside any MCP request. */
export class Reminders extends McpAgent<unknown, unknown, { user?: string }> {
  server = new McpServer({ name: "reminders", version: "1.0.0" });

  override onStart(): void {
    seen.starts.push(this.props ?? null);
  }

  init(): void {
    this.server.registerTool("remind", { description: "Reminds this session's caller in a minute" }, async () => {
      await this.schedule(60, "remind");
      return { content: [{ type: "text", text: "scheduled" }] };
    });
  }

  async remind(): Promise<void> {
    seen.reminders.push(this.props ?? null);
  }
}

async function start(handler = Desk.serve("/mcp")): Promise<Harness> {
  const harness = await startDesk(handler);
  harnesses.push(harness);
  return harness;
}

describe("ctx.props becomes this.props", () => {
  it("over Streamable HTTP, and stays with the session after hibernation", async () => {
    const harness = await start();
    const alice = await streamableClient(`${harness.url}/mcp`, { user: "alice" });
    expect(JSON.parse(textOf(await alice.client.callTool({ name: "whoami", arguments: {} })))).toEqual({ user: "alice" });
    const sessionId = alice.transport.sessionId!;
    await alice.client.close();
    await expect.poll(() => (harness.host.hibernateIdleAgents(), harness.host.stats.liveAgents)).toBe(0);

    // The session wakes for alice's next request, her identity stored with it.
    const again = await streamableClient(`${harness.url}/mcp`, { sessionId, user: "alice" });
    expect(JSON.parse(textOf(await again.client.callTool({ name: "whoami", arguments: {} })))).toEqual({ user: "alice" });
    await again.client.close();
  });

  it("answers only the identity that opened the session: other props, or none, get 404 and change nothing", async () => {
    const harness = await start();
    const alice = await streamableClient(`${harness.url}/mcp`, { user: "alice" });
    const sessionId = alice.transport.sessionId!;
    const call = (headers: Record<string, string>) =>
      fetch(`${harness.url}/mcp`, {
        method: "POST",
        headers: { accept: "application/json, text/event-stream", "content-type": "application/json", "mcp-protocol-version": "2025-11-25", "mcp-session-id": sessionId, ...headers },
        body: JSON.stringify({ jsonrpc: "2.0", id: 99, method: "tools/call", params: { name: "whoami", arguments: {} } }),
      });
    for (const headers of [{ "x-user": "carol" }, {}] as Array<Record<string, string>>) {
      const refused = await call(headers);
      expect(refused.status).toBe(404);
      expect(await refused.json()).toMatchObject({ error: { message: expect.stringMatching(/Session not found/) } });
    }
    const accepted = await call({ "x-user": "alice" });
    expect(accepted.status).toBe(200);
    expect(await accepted.text()).toContain('\\"user\\":\\"alice\\"');
    expect(JSON.parse(textOf(await alice.client.callTool({ name: "whoami", arguments: {} })))).toEqual({ user: "alice" });
    await alice.client.close();
  });

  it("over the legacy SSE transport", async () => {
    const harness = await start(Desk.serveSSE("/sse"));
    const bob = await sseClient(`${harness.url}/sse`, { user: "bob" });
    expect(JSON.parse(textOf(await bob.client.callTool({ name: "whoami", arguments: {} })))).toEqual({ user: "bob" });
    await bob.client.close();
  });

  it("on the standalone GET stream", async () => {
    // The stream's headers leave with its first bytes: a short keep-alive sends them at once.
    const harness = await start(Desk.serve("/mcp", { keepAliveInterval: 20 }));
    const opened = await streamableClient(`${harness.url}/mcp`, { user: "alice" });
    const sessionId = opened.transport.sessionId!;
    await opened.client.close();
    await expect.poll(() => (harness.host.hibernateIdleAgents(), harness.host.stats.liveAgents)).toBe(0);

    const stream = (user: string, signal?: AbortSignal) =>
      fetch(`${harness.url}/mcp`, {
        headers: { accept: "text/event-stream", "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25", "x-user": user },
        ...(signal ? { signal } : {}),
      });
    // Carol, handed over by the worker, cannot take alice's session over through the GET stream.
    const refused = await stream("carol");
    expect(refused.status).toBe(404);
    await refused.text();
    // Alice's own stream wakes the session with her identity.
    const hangUp = new AbortController();
    const own = await stream("alice", hangUp.signal);
    expect(own.status).toBe(200);
    hangUp.abort();
    await expect.poll(() => (harness.host.hibernateIdleAgents(), harness.host.stats.liveAgents)).toBe(0);

    const later = await streamableClient(`${harness.url}/mcp`, { sessionId, user: "alice" });
    expect(JSON.parse(textOf(await later.client.callTool({ name: "whoami", arguments: {} })))).toEqual({ user: "alice" });
    await later.client.close();
  });

  it("keeps sessions apart on the legacy SSE transport too", async () => {
    const harness = await start(Desk.serveSSE("/sse"));
    const hangUp = new AbortController();
    const stream = await fetch(`${harness.url}/sse`, { headers: { accept: "text/event-stream", "x-user": "alice" }, signal: hangUp.signal });
    const reader = stream.body!.getReader();
    const decoder = new TextDecoder();
    let seen = "";
    while (!/data: \S+\n/.test(seen)) {
      const { done, value } = await reader.read();
      if (done) throw new Error(`The SSE stream ended before its endpoint event: ${JSON.stringify(seen)}`);
      seen += decoder.decode(value, { stream: true });
    }
    const endpoint = new URL(seen.match(/data: (\S+)/)![1]!, harness.url);
    const post = (user: string) =>
      fetch(endpoint, { method: "POST", headers: { "content-type": "application/json", "x-user": user }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }) });
    expect((await post("mallory")).status).toBe(404);
    expect((await post("alice")).status).toBe(202);
    hangUp.abort();
  });

  it("refuses ctx.props that is not a plain object, or not JSON, clearly", async () => {
    const harness = await start();
    const send = (props: unknown) =>
      Desk.serve("/mcp").fetch(new Request(`${harness.url}/mcp`, { method: "POST" }), harness.host.env, { props }).catch((error: unknown) => error);
    const notObject = await send("alice");
    expect(notObject).toBeInstanceOf(TypeError);
    expect((notObject as Error).message).toMatch(/ctx\.props must be a plain object/);
    const notJson = await send({ id: 1n });
    expect(notJson).toBeInstanceOf(TypeError);
    expect((notJson as Error).message).toMatch(/ctx\.props must be JSON/);
  });

  it("owns a session by the props' content, whatever the order of their keys", () => {
    expect(ownerOfProps({ user: "alice", org: { id: 1, plan: "pro" } })).toBe(ownerOfProps({ org: { plan: "pro", id: 1 }, user: "alice" }));
    expect(ownerOfProps({ user: "alice" })).not.toBe(ownerOfProps({ user: "alice", admin: true }));
    expect(ownerOfProps({ user: "alice" })).toMatch(/^props:[0-9a-f]{64}$/);
  });
});

describe("this.props after a wake", () => {
  it("are the session's in onStart and in scheduled callbacks, outside any MCP request", async () => {
    const handler = Reminders.serve("/mcp");
    t = await createTestEnv({ agents: { Reminders }, fetch: (request, env, ctx) => handler.fetch(request, env, { ...(ctx as object), props: { user: "alice" } }) });
    const { client } = await streamableClient(`${await t.url()}/mcp`);
    expect(textOf(await client.callTool({ name: "remind", arguments: {} }))).toBe("scheduled");
    await client.close();
    await expect.poll(() => (t!.hibernate(), t!.host.stats.liveAgents)).toBe(0);
    seen.starts.length = 0;
    seen.reminders.length = 0;

    await t.clock.advance("2 minutes");
    expect(seen).toEqual({ starts: [{ user: "alice" }], reminders: [{ user: "alice" }] });
  });
});
