import { Client, SSEClientTransport, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import { afterEach, describe, expect, it } from "vitest";
import { Host, serve, type HearthServer } from "../../src/index.ts";
import { tempDir } from "../support/harness.ts";
import { rawPost } from "../support/raw-post.ts";
import { Notes } from "./fixtures/notes.ts";

const streamable = Notes.serve("/mcp");
const sse = Notes.serveSSE("/sse");

/** A host serving Notes on a fixed port, restartable on the same data and address. */
async function startNotes(dir: string, port = 0): Promise<{ host: Host; server: HearthServer }> {
  const host = new Host({ dataDir: dir, agents: { Notes } });
  const server = await serve({
    host,
    port,
    fetch: (request, env, ctx) => (new URL(request.url).pathname.startsWith("/sse") ? sse : streamable).fetch(request, env, ctx),
  });
  return { host, server };
}


/** Reads an SSE response until `pattern` shows up, then drops the connection (as a flaky network would). */
async function readUntil(response: Response, pattern: RegExp): Promise<string> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let seen = "";
  while (!pattern.test(seen)) {
    const { done, value } = await reader.read();
    if (done) break;
    seen += decoder.decode(value, { stream: true });
  }
  await reader.cancel();
  return seen;
}

const text = (result: unknown) => ((result as { content: Array<{ text: string }> }).content[0]!.text);

describe("McpAgent over Streamable HTTP", () => {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup() {
    const dir = tempDir();
    let running = await startNotes(dir.path);
    const port = running.server.port;
    cleanups.push(dir.remove, async () => {
      await running.server.close();
      await running.host.close();
    });
    const connect = async (sessionId?: string) => {
      const client = new Client({ name: "test", version: "1.0.0" });
      const transport = new StreamableHTTPClientTransport(new URL(`${running.server.url}/mcp`), sessionId ? { sessionId } : {});
      await client.connect(transport);
      cleanups.push(() => client.close());
      return { client, transport };
    };
    const restart = async () => {
      await running.server.close();
      await running.host.close();
      running = await startNotes(dir.path, port);
      // Let fetch's connection pool see the old server's sockets close before reusing the address.
      await new Promise((resolve) => setTimeout(resolve, 100));
    };
    return { connect, restart, host: () => running.host, url: () => running.server.url };
  }

  it("serves tools, resources and prompts registered with the SDK", async () => {
    const { connect } = await setup();
    const { client } = await connect();
    const tools = await client.listTools();
    expect(tools.tools.map((tool) => tool.name).sort()).toEqual(["add_note", "list_notes", "slow_echo", "whoami"]);
    expect(text(await client.callTool({ name: "add_note", arguments: { text: "milk" } }))).toBe("1 notes");
    const resource = await client.readResource({ uri: "notes://count" });
    expect(resource.contents[0]).toMatchObject({ text: "1" });
    const prompt = await client.getPrompt({ name: "summarize", arguments: { style: "briefly" } });
    expect(prompt.messages[0]!.content).toMatchObject({ text: "Summarize my notes, briefly." });
    const bad = await client.callTool({ name: "add_note", arguments: { text: 42 } });
    expect(bad.isError).toBe(true);
  });

  it("gives every session its own agent, state and SQL", async () => {
    const { connect } = await setup();
    const a = await connect();
    const b = await connect();
    expect(a.transport.sessionId).toBeDefined();
    expect(a.transport.sessionId).not.toBe(b.transport.sessionId);
    await a.client.callTool({ name: "add_note", arguments: { text: "a1" } });
    await a.client.callTool({ name: "add_note", arguments: { text: "a2" } });
    await b.client.callTool({ name: "add_note", arguments: { text: "b1" } });
    expect(text(await a.client.callTool({ name: "list_notes", arguments: {} }))).toBe("a1\na2");
    expect(text(await b.client.callTool({ name: "list_notes", arguments: {} }))).toBe("b1");
    const who = JSON.parse(text(await a.client.callTool({ name: "whoami", arguments: {} }))) as { session: string };
    expect(who.session).toBe(a.transport.sessionId);
  });

  it("keeps a session across hibernation and a restart", async () => {
    const { connect, restart, host } = await setup();
    const { client, transport } = await connect();
    const sessionId = transport.sessionId!;
    await client.callTool({ name: "add_note", arguments: { text: "before" } });
    await client.close();
    // The client's GET stream ends with its connection; then nothing holds the session in memory.
    await expect.poll(() => host().hibernateIdleAgents() + (host().stats.liveAgents === 0 ? 1 : 0)).toBeGreaterThan(0);
    expect(host().stats.liveAgents).toBe(0);

    const again = await connect(sessionId);
    expect(text(await again.client.callTool({ name: "add_note", arguments: { text: "after sleep" } }))).toBe("2 notes");
    await again.client.close();

    await restart();
    const third = await connect(sessionId);
    expect(third.transport.sessionId).toBe(sessionId);
    expect(text(await third.client.callTool({ name: "list_notes", arguments: {} }))).toBe("before\nafter sleep");
    expect((await third.client.readResource({ uri: "notes://count" })).contents[0]).toMatchObject({ text: "2" });
  });

  it("resumes a lost response stream with Last-Event-ID, across a restart too", async () => {
    const { connect, restart, url } = await setup();
    const { client, transport } = await connect();
    const sessionId = transport.sessionId!;
    await client.close();
    const base = {
      accept: "application/json, text/event-stream",
      "content-type": "application/json",
      "mcp-session-id": sessionId,
      "mcp-protocol-version": "2025-11-25",
    };

    // The client loses its stream right after the first event; the answer is still recorded.
    const call = (id: number, ms: number) =>
      fetch(`${url()}/mcp`, {
        method: "POST",
        headers: base,
        body: JSON.stringify({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "slow_echo", arguments: { text: `answer ${id}`, ms } } }),
      });
    const first = await call(1, 100);
    const primed = await readUntil(first, /id: (\S+)/);
    expect(primed).not.toContain("answer");
    const lastEventId = primed.match(/id: (\S+)/)![1]!;
    // Whether the answer is already stored or still coming, the replay stream delivers it.
    // Until the server has seen the old connection close, the stream counts as taken (409): retry.
    const replayAfter = async (eventId: string, answer: RegExp) => {
      for (let attempt = 0; ; attempt++) {
        const replay = await fetch(`${url()}/mcp`, { headers: { ...base, "last-event-id": eventId } });
        if (replay.status !== 409 || attempt === 50) {
          expect(replay.status).toBe(200);
          return readUntil(replay, answer);
        }
        await replay.text();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    expect(await replayAfter(lastEventId, /answer 1/)).toContain('"id":1');

    const second = await call(2, 50);
    const secondId = (await readUntil(second, /id: (\S+)/)).match(/id: (\S+)/)![1]!;
    expect(await replayAfter(secondId, /answer 2/)).toContain('"id":2'); // stored: now the process goes
    await restart();
    const afterRestart = await fetch(`${url()}/mcp`, { headers: { ...base, "last-event-id": secondId } });
    expect(await readUntil(afterRestart, /answer 2/)).toContain('"id":2');
  });

  it("serves clients that negotiate the protocol version, and tells a 2026-07-28-only client why not", async () => {
    const { url } = await setup();
    const negotiating = new Client({ name: "auto", version: "1.0.0" }, { versionNegotiation: { mode: "auto" } });
    const transport = new StreamableHTTPClientTransport(new URL(`${url()}/mcp`));
    await negotiating.connect(transport);
    expect(transport.sessionId).toBeDefined();
    expect(text(await negotiating.callTool({ name: "add_note", arguments: { text: "negotiated" } }))).toBe("1 notes");
    await negotiating.close();

    const pinned = new Client({ name: "pinned", version: "1.0.0" }, { versionNegotiation: { mode: { pin: "2026-07-28" } } });
    await expect(pinned.connect(new StreamableHTTPClientTransport(new URL(`${url()}/mcp`)))).rejects.toThrow(
      /Unsupported protocol version 2026-07-28: this endpoint serves MCP sessions/,
    );
  });

  it("answers unknown sessions 404 without creating storage, and DELETE ends a session", async () => {
    const { connect, url, host } = await setup();
    const unknown = await fetch(`${url()}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream", "mcp-session-id": "no-such-session" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }),
    });
    expect(unknown.status).toBe(404);
    expect(host().stats.liveAgents).toBe(0);

    const { client, transport } = await connect();
    const sessionId = transport.sessionId!;
    await client.callTool({ name: "add_note", arguments: { text: "x" } });
    await transport.terminateSession();
    await expect.poll(() => (host().env.Notes as { exists(name: string): boolean }).exists(`streamable-http:${sessionId}`)).toBe(false);
  });

  it("refuses bad input clearly", async () => {
    const { url } = await setup();
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${url()}/mcp`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...headers },
        body,
      });
    const malformed = await post("{not json");
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { code: -32700 } });
    const noSession = await post(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }));
    expect(noSession.status).toBe(400);
    const huge = await post(JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { pad: "x".repeat(5 * 1024 * 1024) } }));
    expect(huge.status).toBe(413);
    expect((await huge.json()) as unknown).toMatchObject({ error: { message: expect.stringContaining("maxRequestBytes") } });
    const wrongType = await post("{}", { "content-type": "text/plain" });
    expect(wrongType.status).toBe(415);
    const rebinding = await rawPost(url(), "/mcp", { host: "evil.example:80", "content-type": "application/json" }, "{}");
    expect(rebinding.status).toBe(403);
    expect(rebinding.body).toContain("allowedHosts");
    // A bracketed loopback address followed by another name is not a loopback Host.
    expect((await rawPost(url(), "/mcp", { host: "[::1]evil.example", "content-type": "application/json" }, "{}")).status).toBe(403);
    expect((await fetch(`${url()}/elsewhere`)).status).toBe(404);
  });
});

describe("McpAgent over the legacy SSE transport", () => {
  it("serves a session on its stream", async () => {
    const dir = tempDir();
    const { host, server } = await startNotes(dir.path);
    try {
      const client = new Client({ name: "test", version: "1.0.0" });
      await client.connect(new SSEClientTransport(new URL(`${server.url}/sse`)));
      expect(text(await client.callTool({ name: "add_note", arguments: { text: "over sse" } }))).toBe("1 notes");
      expect(text(await client.callTool({ name: "list_notes", arguments: {} }))).toBe("over sse");
      const prompts = await client.listPrompts();
      expect(prompts.prompts[0]!.name).toBe("summarize");
      expect(host.stats.liveAgents).toBe(1);
      // An idle sweep must not take the session away while its stream is open.
      expect(host.hibernateIdleAgents()).toBe(0);
      await client.close();
      const lost = await fetch(`${server.url}/sse/message?sessionId=nope`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
      });
      expect(lost.status).toBe(404);
    } finally {
      await server.close();
      await host.close();
      dir.remove();
    }
  });
});
