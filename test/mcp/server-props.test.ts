// ctx.props — how a wrapping worker (an OAuth provider on Cloudflare) hands the caller's identity to
// McpAgent.serve(path).fetch(request, env, ctx) — becomes the session's this.props.
import { afterEach, describe, expect, it } from "vitest";
import type { Harness } from "../support/harness.ts";
import { Desk } from "./fixtures/desk.ts";
import { sseClient, startDesk, streamableClient, textOf } from "./fixtures/desk-host.ts";

const harnesses: Harness[] = [];
afterEach(async () => {
  for (const harness of harnesses.splice(0)) await harness.close();
});

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

    // A later request without props (a scheduled callback would see the same): the stored identity.
    const again = await streamableClient(`${harness.url}/mcp`, { sessionId });
    expect(JSON.parse(textOf(await again.client.callTool({ name: "whoami", arguments: {} })))).toEqual({ user: "alice" });
    await again.client.close();
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

    // The session wakes for the GET stream, with carol's identity handed over by the worker.
    const hangUp = new AbortController();
    const stream = await fetch(`${harness.url}/mcp`, {
      headers: { accept: "text/event-stream", "mcp-session-id": sessionId, "mcp-protocol-version": "2025-11-25", "x-user": "carol" },
      signal: hangUp.signal,
    });
    expect(stream.status).toBe(200);
    hangUp.abort();
    await expect.poll(() => (harness.host.hibernateIdleAgents(), harness.host.stats.liveAgents)).toBe(0);

    const later = await streamableClient(`${harness.url}/mcp`, { sessionId });
    expect(JSON.parse(textOf(await later.client.callTool({ name: "whoami", arguments: {} })))).toEqual({ user: "carol" });
    await later.client.close();
  });

  it("refuses ctx.props that is not a plain object, clearly", async () => {
    const harness = await start();
    const response = await Desk.serve("/mcp").fetch(new Request(`${harness.url}/mcp`, { method: "POST" }), harness.host.env, { props: "alice" }).catch((error: unknown) => error);
    expect(response).toBeInstanceOf(TypeError);
    expect((response as Error).message).toMatch(/ctx\.props must be a plain object/);
  });
});
