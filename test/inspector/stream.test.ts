import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { emitMcpEvents } from "../../src/events/mcp-events.ts";
import { LogStore } from "../../src/observability/store/index.ts";
import { startFixture, until, type Fixture, type Notebook } from "./fixture.ts";

let fixture: Fixture | undefined;
const open: Array<{ close(): void }> = [];
afterEach(async () => {
  for (const stream of open.splice(0)) stream.close();
  await fixture?.close();
  fixture = undefined;
});

interface SseMessage {
  id: string;
  event: string;
  data: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Opens the stream with node:http and collects its messages (and comments). */
function openStream(f: Fixture, query: string, headers: Record<string, string> = {}): Promise<{ messages: SseMessage[]; comments: string[]; status: number; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(`/api/stream?${query}`, f.inspector.url), { headers: { authorization: `Bearer ${f.inspector.token}`, ...headers } }, (res) => {
      const stream = { messages: [] as SseMessage[], comments: [] as string[], status: res.statusCode ?? 0, close: () => req.destroy() };
      open.push(stream);
      let buffer = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (block.startsWith(":")) {
            stream.comments.push(block);
            continue;
          }
          const fields = Object.fromEntries(block.split("\n").map((line) => [line.slice(0, line.indexOf(":")), line.slice(line.indexOf(":") + 2)]));
          stream.messages.push({ id: fields.id!, event: fields.event!, data: JSON.parse(fields.data!) });
        }
      });
      res.on("error", () => {});
      resolve(stream);
    });
    req.on("error", reject);
    req.end();
  });
}

describe("inspector live stream", () => {
  it("shows a viewer the MCP client's events without the credentials of the server's URL and its OAuth link", async () => {
    const f = (fixture = await startFixture());
    const stream = await openStream(f, "topics=events");
    // An agent of the fixture's class, as the MCP client reports its server's state changes.
    class Notebook {
      name = "a";
    }
    const agent = new Notebook();
    const url = "https://alice:s3cret@mcp.example.com/mcp?api_key=k3y";
    const connection = { authUrl: "https://auth.example.com/authorize?client_id=c&state=st4te", record: { transport: "streamable-http" } };
    emitMcpEvents(agent, { serverId: "s1", url, state: "failed", error: `fetch ${url} failed` }, connection);
    emitMcpEvents(agent, { serverId: "s1", url, state: "authenticating" }, connection);
    const failed = await until(() => stream.messages.find((m) => m.data.type === "mcp:client:connect"), "the connect event");
    expect(failed.data.payload).toEqual({ url: "https://mcp.example.com/mcp?api_key=…", transport: "streamable-http", state: "failed", error: "fetch https://mcp.example.com/mcp?api_key=… failed" });
    const authorize = await until(() => stream.messages.find((m) => m.data.type === "mcp:client:authorize"), "the authorize event");
    expect(authorize.data.payload).toEqual({ serverId: "s1", authUrl: "https://auth.example.com/authorize?client_id=…&state=…" });
    expect(JSON.stringify(stream.messages)).not.toMatch(/s3cret|st4te|k3y/);
  });

  it("delivers agents:* events with ids, filtered by class and agent, and resumes from Last-Event-ID", async () => {
    const f = (fixture = await startFixture({ heartbeatMs: 50 }));
    const stub = f.t.get<Notebook>("Notebook", "a");
    await stub.add(1);
    const all = await openStream(f, "topics=events");
    const onlyB = await openStream(f, "topics=events&agent=b");
    expect(all.status).toBe(200);
    await stub.add(2);
    const first = await until(() => all.messages.find((m) => m.data.type === "state:update" && m.data.name === "a"), "a state:update event");
    expect(first).toMatchObject({ event: "events", data: { type: "state:update", agent: "Notebook", name: "a" } });
    await until(() => (all.comments.some((c) => c.includes("heartbeat")) ? true : undefined), "a heartbeat");
    expect(onlyB.messages).toEqual([]);
    const lastId = all.messages.at(-1)!.id;
    await stub.add(3);
    await until(() => (all.messages.length > 0 && all.messages.at(-1)!.id !== lastId ? true : undefined), "more events");
    const resumed = await openStream(f, "topics=events", { "last-event-id": first.id });
    await until(() => (resumed.messages.length >= all.messages.filter((m) => Number(m.id) > Number(first.id)).length ? true : undefined), "the resumed messages");
    expect(resumed.messages[0]!.id).toBe(String(Number(first.id) + 1));
  });

  it("leaves out of a class or instance filter what names no agent, such as the host's own log lines", async () => {
    const logs = new LogStore();
    try {
      const f = (fixture = await startFixture({ logStore: logs }));
      const all = await openStream(f, "topics=logs");
      const ofClass = await openStream(f, "topics=logs&class=Notebook");
      const ofA = await openStream(f, "topics=logs&class=Notebook&agent=a");
      logs.onRecord({ level: 30, time: Date.now(), msg: "the host's own line" });
      logs.onRecord({ level: 30, time: Date.now(), msg: "a line of a", agent: "Notebook", name: "a" });
      logs.onRecord({ level: 30, time: Date.now(), msg: "a line of b", agent: "Notebook", name: "b" });
      await until(() => (all.messages.length === 3 && ofClass.messages.length >= 2 && ofA.messages.length >= 1 ? true : undefined), "the lines to arrive");
      expect(all.messages.map((m) => m.data.msg)).toEqual(["the host's own line", "a line of a", "a line of b"]);
      expect(ofClass.messages.map((m) => m.data.msg)).toEqual(["a line of a", "a line of b"]);
      expect(ofA.messages.map((m) => m.data.msg)).toEqual(["a line of a"]);
    } finally {
      logs.close();
    }
  });

  it("refuses an unknown topic and more than the cap of open streams", async () => {
    const f = (fixture = await startFixture());
    const bad = await f.api("/api/stream?topics=nope");
    expect(bad.status).toBe(400);
    expect(bad.json().error.message).toBe('Unknown topic "nope"; topics are events, logs, spans, metrics');
    for (let i = 0; i < 16; i++) await openStream(f, "topics=events");
    const refused = await f.api("/api/stream?topics=events");
    expect(refused.status).toBe(429);
    expect(refused.json().error).toEqual({ code: "too_many_streams", message: "16 live streams are open already (the inspector's limit); close one first" });
  });

  it("needs credentials", async () => {
    const f = (fixture = await startFixture());
    expect((await f.api("/api/stream", { as: null })).status).toBe(401);
  });
});
