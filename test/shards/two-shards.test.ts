import { connect, type Socket } from "node:net";
import v8 from "node:v8";
import vm from "node:vm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  Agent,
  DurableObject,
  WebSocketPair,
  callable,
  getAgentByName,
  type AgentNamespace,
  type DurableObjectNamespace,
  type WorkersWebSocket,
} from "../../src/index.ts";
import { agentsOnlyFetch } from "../../src/gateway/serve.ts";
import { MAX_FORWARDED_BODY_BYTES } from "../../src/shards/codec.ts";
import { shardOf } from "../../src/shards/placement.ts";
import { handshake } from "../support/handshake.ts";
import { TestSocket, tempDir } from "../support/harness.ts";
import { loggedErrors } from "../support/logged-errors.ts";
import { closeTwoShards, nameOn as nameOfShard, startTwoShards, type ShardNode } from "./support/two-shards.ts";

/** The host whose `/endless` stream was cancelled (its client went away). */
let endlessCancelled: string | undefined;
/** The host where a request to `/after-abort` waits for its client to go away. */
let waitingForAbort: string | undefined;
/** Bytes of `/big` streams read so far. */
let bigPulled = 0;
/** `/big` streams cancelled (their reader went away). */
let bigCancelled = 0;

/** Which host ran an event: each host's env carries its own marker. */
class Counter extends Agent<{ HOST: string; Counter: AgentNamespace<Counter> }, { count: number }> {
  initialState = { count: 0 };
  order: number[] = [];

  @callable() add(by: number): { count: number; host: string } {
    this.setState({ count: this.state.count + by });
    return { count: this.state.count, host: this.env.HOST };
  }

  record(n: number): void {
    this.order.push(n);
  }

  recorded(): number[] {
    return this.order;
  }

  where(): string {
    return this.env.HOST;
  }

  fails(): never {
    throw new TypeError("bad input to fails");
  }

  unclonable(): () => void {
    return () => {};
  }

  /** Agent to agent over HTTP, the answer's body dropped unread: its status only. */
  async fetchStatus(other: string, path: string): Promise<number> {
    const stub = await getAgentByName(this.env.Counter, other);
    return (await stub.fetch(new Request(`http://counter/agents/counter/${other}/${path}`))).status;
  }

  /** Agent to agent over HTTP: the body of another counter's answer to `path`, wherever it runs. */
  async fetchText(other: string, path: string): Promise<string> {
    const stub = await getAgentByName(this.env.Counter, other);
    return (await stub.fetch(new Request(`http://counter/agents/counter/${other}/${path}`))).text();
  }

  /** Agent to agent: calls another counter by name, wherever it runs. */
  async relay(other: string, by: number): Promise<{ count: number; host: string }> {
    const stub = await getAgentByName(this.env.Counter, other);
    return stub.add(by);
  }

  override async onRequest(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (path.endsWith("/echo")) {
      const body = await request.text();
      return Response.json({ host: this.env.HOST, url: request.url, body, header: request.headers.get("x-test") }, { status: 201, statusText: "Made" });
    }
    if (path.endsWith("/pair")) {
      // A WebSocket in answer to a plain request: the server must refuse it, on whichever thread.
      const { 0: client, 1: server } = new WebSocketPair();
      server.accept();
      return new Response(null, { status: 101, webSocket: client } as ResponseInit);
    }
    if (path.endsWith("/after-abort")) {
      // Answers only once its client has gone, with the endless stream: nobody is there to read it.
      waitingForAbort = this.env.HOST;
      await new Promise((resolve) => request.signal.addEventListener("abort", resolve, { once: true }));
    }
    if (path.endsWith("/endless") || path.endsWith("/after-abort")) {
      // A chunk every 10 ms until the reader goes away: `endlessCancelled` says when it did.
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 10));
          controller.enqueue(new TextEncoder().encode("tick\n"));
        },
        cancel: () => void (endlessCancelled = this.env.HOST),
      });
      return new Response(stream, { headers: { "content-type": "text/event-stream" } });
    }
    if (path.endsWith("/big")) {
      // As much as anyone reads, 64 KiB at a time.
      const chunk = new Uint8Array(64 * 1024);
      const stream = new ReadableStream<Uint8Array>({
        pull(controller) {
          bigPulled += chunk.byteLength;
          controller.enqueue(chunk);
        },
        cancel() {
          bigCancelled++;
        },
      });
      return new Response(stream, { headers: { "content-type": "application/octet-stream" } });
    }
    if (path.endsWith("/strings")) {
      // A stream of strings, as an event stream is often written: this thread's server writes them as UTF-8.
      let n = 0;
      const stream = new ReadableStream<string>({
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          controller.enqueue(`data: ${n}é\n\n`);
          if (++n === 3) controller.close();
        },
      });
      return new Response(stream as unknown as ReadableStream<Uint8Array>, { headers: { "content-type": "text/event-stream" } });
    }
    if (path.endsWith("/stream")) {
      let n = 0;
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          controller.enqueue(new TextEncoder().encode(`chunk ${n}\n`));
          if (++n === 3) controller.close();
        },
      });
      return new Response(stream, { headers: { "content-type": "text/plain", "x-host": this.env.HOST } });
    }
    return Response.json({ host: this.env.HOST, method: request.method }, { headers: [["set-cookie", "a=1"], ["set-cookie", "b=2"]] });
  }
}

/** A plain Durable Object that accepts hibernatable sockets and answers with the host it runs on. */
class Chatroom extends DurableObject<{ HOST: string }> {
  /** `?proto=` names the subprotocol of its 101, which also sets a cookie. */
  fetch(request: Request): Response {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    const proto = new URL(request.url).searchParams.get("proto");
    const headers: HeadersInit = proto === null ? [] : [["Sec-WebSocket-Protocol", proto], ["Set-Cookie", `room=${this.env.HOST}`]];
    return new Response(null, { status: 101, webSocket: client, headers } as ResponseInit);
  }

  webSocketMessage(ws: WorkersWebSocket, message: string | ArrayBuffer): void {
    ws.send(`${this.env.HOST}:${String(message)}`);
  }

  host(): string {
    return this.env.HOST;
  }

  /** `ctx.id.name`: the name the id was made from, wherever the stub was made. */
  idName(): string | undefined {
    return this.ctx.id.name;
  }
}

/** The worker: `/room/<name>` reaches a Chatroom through its namespace, the rest are agents. */
function workerFetch(request: Request, env: Record<string, unknown>): Promise<Response> {
  const path = new URL(request.url).pathname;
  if (path.startsWith("/room/")) return (env.ROOM as DurableObjectNamespace).getByName(path.slice(6)).fetch(request);
  return agentsOnlyFetch(request, env);
}

const startShards = (dataDir: string) => startTwoShards(dataDir, { agents: { Counter }, durableObjects: { ROOM: Chatroom } }, workerFetch);
const nameOn = (index: number, prefix?: string) => nameOfShard("counter", index, prefix);

/** Sends each of `requests` on one raw connection (after the previous answer began) and returns all that came back until it closed. */
async function rawExchange(url: string, requests: string[]): Promise<string> {
  const { port } = new URL(url);
  return new Promise<string>((resolve, reject) => {
    let text = "";
    const pending = [...requests];
    const socket = connect(Number(port), "127.0.0.1", () => socket.write(pending.shift()!));
    socket.setEncoding("utf8").on("data", (chunk: string) => {
      text += chunk;
      if (pending.length > 0) socket.write(pending.shift()!);
    });
    socket.on("end", () => resolve(text)).on("error", reject);
  });
}

/**
 * A raw connection to `url` whose first request was for shard 0's agent, answered: the connection
 * stays on shard 0, and its later requests for shard 1's agents are handed over one by one.
 */
async function keptByShard0(url: string): Promise<Socket> {
  const socket = connect(Number(new URL(url).port), "127.0.0.1");
  socket.on("error", () => {});
  let received = "";
  const reading = (chunk: Buffer) => void (received += chunk.toString("latin1"));
  socket.on("data", reading);
  socket.write(`GET /agents/counter/${nameOn(0, "here")} HTTP/1.1\r\nhost: x\r\n\r\n`);
  await expect.poll(() => received.includes("shard-0"), { timeout: 5_000 }).toBe(true);
  socket.off("data", reading);
  return socket;
}


describe("two shards", () => {
  let dir: ReturnType<typeof tempDir>;
  let nodes: [ShardNode, ShardNode];
  beforeEach(async () => {
    dir = tempDir();
    nodes = await startShards(dir.path);
  });
  afterEach(async () => {
    await closeTwoShards(nodes);
    dir.remove();
  });

  it("places every agent on exactly one shard, the same on every call, about evenly", () => {
    const counts = [0, 0];
    for (let i = 0; i < 2_000; i++) {
      const owner = shardOf("counter", `agent-${i}`, 2);
      expect(shardOf("counter", `agent-${i}`, 2)).toBe(owner);
      counts[owner]!++;
    }
    expect(Math.min(...counts)).toBeGreaterThan(850);
    // Going from 2 to 3 shards moves only the agents the new shard wins.
    let moved = 0;
    for (let i = 0; i < 2_000; i++) {
      const before = shardOf("counter", `agent-${i}`, 2);
      const after = shardOf("counter", `agent-${i}`, 3);
      if (after !== before) {
        expect(after).toBe(2);
        moved++;
      }
    }
    expect(moved).toBeGreaterThan(500);
    expect(moved).toBeLessThan(850);
  });

  it("runs an RPC call on the owner's shard, from either host", async () => {
    const remote = nameOn(1);
    const fromZero = await getAgentByName(nodes[0].host.env.Counter as AgentNamespace<Counter>, remote);
    expect(await fromZero.add(2)).toEqual({ count: 2, host: "shard-1" });
    const fromOne = await getAgentByName(nodes[1].host.env.Counter as AgentNamespace<Counter>, remote);
    expect(await fromOne.add(3)).toEqual({ count: 5, host: "shard-1" });
    expect(nodes[0].host.stats.liveAgents).toBe(0);
    expect(nodes[1].host.stats.liveAgents).toBe(1);
    expect((nodes[0].host.env.Counter as AgentNamespace<Counter>).exists(remote)).toBe(true);
    expect((nodes[0].host.env.Counter as AgentNamespace<Counter>).exists(nameOn(1, "never"))).toBe(false);
  });

  it("keeps the order of calls from one shard to an agent on another", async () => {
    const stub = await getAgentByName(nodes[0].host.env.Counter as AgentNamespace<Counter>, nameOn(1));
    await Promise.all(Array.from({ length: 300 }, (_, i) => stub.record(i)));
    expect(await stub.recorded()).toEqual(Array.from({ length: 300 }, (_, i) => i));
  });

  it("brings errors back with their class and message, and refuses what cannot be copied", async () => {
    const stub = await getAgentByName(nodes[0].host.env.Counter as AgentNamespace<Counter>, nameOn(1));
    await expect(stub.fails()).rejects.toThrow(TypeError);
    await expect(stub.fails()).rejects.toThrow("bad input to fails");
    await expect(stub.unclonable()).rejects.toThrow(/could not be cloned/);
    await expect((stub as unknown as { nope(): Promise<void> }).nope()).rejects.toThrow(/nope/);
    expect(await stub.where()).toBe("shard-1"); // the agent is still fine
  });

  it("lets an agent call an agent of the other shard", async () => {
    const caller = await getAgentByName(nodes[0].host.env.Counter as AgentNamespace<Counter>, nameOn(0));
    expect(await caller.relay(nameOn(1), 7)).toEqual({ count: 7, host: "shard-1" });
    expect(await caller.where()).toBe("shard-0");
  });

  it("answers HTTP for another shard's agent from either server, headers and streamed bodies intact", async () => {
    const remote = nameOn(1);
    for (const node of nodes) {
      const response = await fetch(`${node.server.url}/agents/counter/${remote}`, { method: "POST", body: "x" });
      expect(await response.json()).toEqual({ host: "shard-1", method: "POST" });
      expect(response.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    }
    const streamed = await fetch(`${nodes[0].server.url}/agents/counter/${remote}/stream`);
    expect(streamed.headers.get("x-host")).toBe("shard-1");
    expect(await streamed.text()).toBe("chunk 0\nchunk 1\nchunk 2\n");
    for (const node of nodes) {
      expect(await (await fetch(`${node.server.url}/agents/counter/${remote}/strings`)).text()).toBe("data: 0é\n\ndata: 1é\n\ndata: 2é\n\n");
    }
    expect(nodes[0].host.stats.liveAgents).toBe(0);
    // The same through another shard's agent: the answer crosses the link chunk by chunk.
    const caller = await getAgentByName(nodes[0].host.env.Counter as AgentNamespace<Counter>, nameOn(0));
    expect(await caller.fetchText(remote, "strings")).toBe("data: 0é\n\ndata: 1é\n\ndata: 2é\n\n");
    expect(await caller.fetchText(remote, "stream")).toBe("chunk 0\nchunk 1\nchunk 2\n");
  });

  it("hands a request over whole: target, headers, body and status; a body over the limit gets 413 from the receiving server", async () => {
    const remote = nameOn(1, "echo");
    const body = "é".repeat(70_000); // several TCP segments, so several chunks of the incoming body
    const response = await fetch(`${nodes[0].server.url}/agents/counter/${remote}/echo?q=1`, { method: "PUT", body, headers: { "x-test": "kept" } });
    expect([response.status, response.statusText]).toEqual([201, "Made"]);
    // The URL the client asked for (its Host: the server it reached), not the answering server's address.
    expect(await response.json()).toEqual({ host: "shard-1", url: `${nodes[0].server.url}/agents/counter/${remote}/echo?q=1`, body, header: "kept" });

    // A chunked body (no length declared) is read whole before it is handed over.
    const parts = ["first ", "second"];
    const chunked = new ReadableStream<Uint8Array>({ pull: (controller) => void (parts.length > 0 ? controller.enqueue(new TextEncoder().encode(parts.shift())) : controller.close()) });
    const streamed = await fetch(`${nodes[0].server.url}/agents/counter/${remote}/echo`, { method: "POST", body: chunked, duplex: "half" } as RequestInit);
    expect(((await streamed.json()) as { body: string }).body).toBe("first second");

    // Refused from the declared length alone, before the body is read; the connection is closed after.
    // (A connection whose first request is for this shard stays here: its later requests are handed over.)
    const raw = await rawExchange(nodes[0].server.url, [
      `GET /agents/counter/${nameOn(0, "here")} HTTP/1.1\r\nhost: x\r\n\r\n`,
      `POST /agents/counter/${remote}/echo HTTP/1.1\r\nhost: x\r\ncontent-length: ${MAX_FORWARDED_BODY_BYTES + 1}\r\nconnection: close\r\n\r\nabc`,
    ]);
    expect(raw).toMatch(/^HTTP\/1\.1 200 [\s\S]*HTTP\/1\.1 413 /);
    expect(raw).toContain(`the limit is ${MAX_FORWARDED_BODY_BYTES} bytes (MAX_FORWARDED_BODY_BYTES)`);
    expect(nodes[1].host.stats.liveAgents).toBe(1); // only the echo agent: the refused request reached no agent
  });

  it("answers a method no Request can carry with 405 whether the request is handed over or not", async () => {
    const here = await rawExchange(nodes[0].server.url, [`TRACE /agents/counter/${nameOn(0, "here")} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`]);
    expect(here).toMatch(/^HTTP\/1\.1 405 /);
    // A connection kept by shard 0 (its first request was for shard 0's agent): the TRACE is handed over.
    const there = await rawExchange(nodes[0].server.url, [
      `GET /agents/counter/${nameOn(0, "here")} HTTP/1.1\r\nhost: x\r\n\r\n`,
      `TRACE /agents/counter/${nameOn(1, "there")} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n`,
    ]);
    expect(there.match(/HTTP\/1\.1 \d+/g)).toEqual(["HTTP/1.1 200", "HTTP/1.1 405"]); // a body has no line end before the next head
  });

  it("moves a connection whose first request is for the other shard's agent there: its later requests are answered there directly", async () => {
    const remote = nameOn(1, "echo");
    const ask = (body: string, last = false) => `PUT /agents/counter/${remote}/echo HTTP/1.1\r\nhost: x\r\ncontent-length: ${body.length}\r\n${last ? "connection: close\r\n" : ""}\r\n${body}`;
    const raw = await rawExchange(nodes[0].server.url, [ask("one"), ask("two"), ask("three", true)]);
    const bodies = [...raw.matchAll(/\{"host":"([^"]+)","url":"[^"]*","body":"([^"]*)"/g)].map((match) => `${match[1]}:${match[2]}`);
    expect(bodies).toEqual(["shard-1:one", "shard-1:two", "shard-1:three"]);
    expect(nodes[0].shard.connections.moved).toBe(1);
  });

  it("refuses a WebSocket given in answer to a plain request handed over, as for one served where it arrived", async () => {
    for (const index of [0, 1] as const) {
      const response = await fetch(`${nodes[0].server.url}/agents/counter/${nameOn(index, "pair")}/pair`);
      expect(response.status).toBe(500);
      expect(((await response.json()) as { error: string }).error).toMatch(/WebSocket \(status 101\) a request without/);
    }
  });

  it("answers 500 when the agent's shard is gone, logging the reason, and keeps serving its own agents", async () => {
    nodes[1].shard.close();
    const errors = loggedErrors();
    const response = await fetch(`${nodes[0].server.url}/agents/counter/${nameOn(1, "gone")}`, { method: "POST", body: "x" });
    errors.restore();
    expect(response.status).toBe(500);
    expect(await response.json()).toEqual({ error: "Internal Server Error" });
    expect(errors.text()).toMatch(/link is closed|Shard 1 is gone/);
    const own = await fetch(`${nodes[0].server.url}/agents/counter/${nameOn(0, "here")}`, { method: "POST", body: "x" });
    expect(await own.json()).toEqual({ host: "shard-0", method: "POST" });
  });

  it("stops a handed-over response stream on the agent's shard when the client goes away", async () => {
    endlessCancelled = undefined;
    const abort = new AbortController();
    const response = await fetch(`${nodes[0].server.url}/agents/counter/${nameOn(1, "endless")}/endless`, { signal: abort.signal });
    const reader = response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("tick");
    abort.abort();
    await expect.poll(() => endlessCancelled, { timeout: 5_000 }).toBe("shard-1");
  });

  it("cancels a response that is ready only after its client went away, instead of reading it for nobody: on a moved connection and handed over", async () => {
    endlessCancelled = undefined;
    waitingForAbort = undefined;
    const abort = new AbortController();
    const answered = fetch(`${nodes[0].server.url}/agents/counter/${nameOn(1, "late")}/after-abort`, { signal: abort.signal }).catch(() => "aborted");
    await expect.poll(() => waitingForAbort, { timeout: 5_000 }).toBe("shard-1");
    abort.abort();
    expect(await answered).toBe("aborted");
    await expect.poll(() => endlessCancelled, { timeout: 5_000 }).toBe("shard-1");

    // The same on a connection kept by shard 0 (its first request was for shard 0's agent), whose
    // request for shard 1's agent is handed over.
    endlessCancelled = undefined;
    waitingForAbort = undefined;
    const socket = await keptByShard0(nodes[0].server.url);
    socket.write(`GET /agents/counter/${nameOn(1, "late")}/after-abort HTTP/1.1\r\nhost: x\r\n\r\n`);
    await expect.poll(() => waitingForAbort, { timeout: 5_000 }).toBe("shard-1");
    socket.destroy();
    await expect.poll(() => endlessCancelled, { timeout: 5_000 }).toBe("shard-1");
    expect(nodes[0].shard.connections.moved).toBe(1); // only the first fetch's connection moved
  });

  it("sends a handed-over response no faster than its client reads it", async () => {
    bigPulled = 0;
    const socket = await keptByShard0(nodes[0].server.url);
    socket.pause(); // the client reads nothing more
    socket.write(`GET /agents/counter/${nameOn(1, "big")}/big HTTP/1.1\r\nhost: x\r\n\r\n`);
    await expect.poll(() => bigPulled, { timeout: 5_000 }).toBeGreaterThan(0);
    const limit = 32 * 1024 * 1024;
    for (let waited = 0; waited < 1_000 && bigPulled < limit; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(bigPulled).toBeLessThan(limit); // a window and the sockets' buffers, not the stream's all
    socket.destroy();
  });

  it("moves a WebSocket's connection to the agent's shard: state, RPC, and the close, with no frame relayed", async () => {
    const remote = nameOn(1);
    const socket = await TestSocket.open(`${nodes[0].server.url.replace("http", "ws")}/agents/counter/${remote}`);
    await socket.waitForType("cf_agent_state");
    const reply = await socket.call("add", [4]);
    expect(reply.result).toEqual({ count: 4, host: "shard-1" });
    expect(nodes[1].host.stats.sockets).toBe(1);
    expect(nodes[0].host.stats.sockets).toBe(0);
    expect(nodes[0].shard.connections).toEqual({ moved: 1, relayed: 0 });
    expect(nodes[1].shard.connections).toEqual({ moved: 0, relayed: 0 });
    socket.close();
    await socket.waitClosed();
    for (let i = 0; i < 200 && nodes[1].host.stats.sockets > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(nodes[1].host.stats.sockets).toBe(0);
    // A second client on the agent's own shard sees the state the relayed one left.
    const direct = await TestSocket.open(`${nodes[1].server.url.replace("http", "ws")}/agents/counter/${remote}`);
    const state = await direct.waitForType("cf_agent_state");
    expect(state.state).toEqual({ count: 4 });
    direct.close();
  });

  it("keeps a moved socket across the agent's hibernation", async () => {
    const remote = nameOn(1);
    const socket = await TestSocket.open(`${nodes[0].server.url.replace("http", "ws")}/agents/counter/${remote}`);
    await socket.waitForType("cf_agent_state");
    expect(nodes[1].host.hibernateIdleAgents()).toBe(1);
    const reply = await socket.call("add", [1]);
    expect(reply.result).toEqual({ count: 1, host: "shard-1" });
    socket.close();
  });

  it("relays a plain Durable Object's hibernatable socket and its RPC to the object's shard", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const room = (nodes[0].host.env.ROOM as DurableObjectNamespace).getByName(`room-${i}`) as unknown as { host(): Promise<string> };
      const owner = await room.host();
      seen.add(owner);
      const socket = await TestSocket.open(`${nodes[0].server.url.replace("http", "ws")}/room/room-${i}`);
      socket.send("hello");
      expect(await socket.waitFor((frame) => typeof frame === "string" && frame.endsWith(":hello"))).toBe(`${owner}:hello`);
      // A route of the worker's own (not /agents/…): the upgrade is answered where it arrived, the socket relayed.
      expect(nodes[0].shard.connections.relayed).toBe(owner === "shard-1" ? 1 : 0);
      socket.close();
      await socket.waitClosed();
    }
    expect(seen).toEqual(new Set(["shard-0", "shard-1"]));
  });

  it("lets go of a response from another thread's agent that its caller dropped unread, as one thread does", async () => {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    const caller = await getAgentByName(nodes[0].host.env.Counter as AgentNamespace<Counter>, nameOn(0));
    const before = bigCancelled;
    expect(await caller.fetchStatus(nameOn(1), "big")).toBe(200);
    await expect
      .poll(
        async () => {
          gc();
          await new Promise((resolve) => setTimeout(resolve, 20));
          return bigCancelled;
        },
        { timeout: 10_000 },
      )
      .toBe(before + 1);
  });

  it("gives a Durable Object its id's name when the stub was made on another thread", async () => {
    const rooms = nodes[0].host.env.ROOM as DurableObjectNamespace<Chatroom>;
    const hosts = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const stub = rooms.getByName(`named-${i}`);
      hosts.add(await stub.host());
      expect(await stub.idName()).toBe(`named-${i}`);
    }
    expect([...hosts].sort()).toEqual(["shard-0", "shard-1"]);
  });

  it("answers a relayed Durable Object socket's handshake with the object's 101: its subprotocol and headers", async () => {
    let name = "";
    for (let i = 0; name === ""; i++) {
      const room = (nodes[0].host.env.ROOM as DurableObjectNamespace).getByName(`proto-${i}`) as unknown as { host(): Promise<string> };
      if ((await room.host()) === "shard-1") name = `proto-${i}`;
    }
    const { status, headers } = await handshake(`${nodes[0].server.url}/room/${name}?proto=b`, ["a", "b"]);
    expect({ status, protocol: headers["sec-websocket-protocol"], cookie: headers["set-cookie"] }).toEqual({ status: 101, protocol: "b", cookie: ["room=shard-1"] });
    expect(nodes[0].shard.connections.relayed).toBe(1);
  });
});
