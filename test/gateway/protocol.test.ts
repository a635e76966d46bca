import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  Agent,
  callable,
  type Connection,
  type ConnectionContext,
  type StandardSchema,
  type StateSource,
  type StreamingResponse,
} from "../../src/index.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";
import { loggedErrors } from "../support/logged-errors.ts";

/** A minimal Standard Schema: a tuple of one finite number. */
const oneNumber: StandardSchema = {
  "~standard": {
    version: 1,
    validate: (value) =>
      Array.isArray(value) && value.length === 1 && typeof value[0] === "number" && Number.isFinite(value[0])
        ? { value }
        : { issues: [{ message: "expected [number]", path: [0] }] },
  },
};

const changes: Array<{ state: unknown; source: string }> = [];
const validated: unknown[] = [];
let resumeProducer: (() => void) | undefined;
const closedIds: string[] = [];
let producedAfterLeave: number | undefined;
const received: Array<string | number> = [];

class Board extends Agent<unknown, { score: number }> {
  initialState = { score: 0 };

  validateStateChange(next: { score: number }) {
    validated.push(next);
    if (typeof next?.score !== "number" || next.score < 0) throw new Error("score must be a non-negative number");
  }
  onStateChanged(state: { score: number } | undefined, source: StateSource) {
    changes.push({ state, source: source === "server" ? "server" : source.id });
  }
  shouldConnectionBeReadonly(_conn: Connection, ctx: ConnectionContext) {
    return new URL(ctx.request.url).searchParams.has("viewer");
  }
  shouldSendProtocolMessages(_conn: Connection, ctx: ConnectionContext) {
    return !new URL(ctx.request.url).searchParams.has("raw");
  }

  @callable({ input: oneNumber }) add(by: number) {
    this.setState({ score: this.state.score + by });
    return this.state.score;
  }
  @callable() fail() {
    this.setState({ score: 999 });
    throw new Error("deliberate failure");
  }
  @callable() bigint() {
    return 10n;
  }
  @callable({ streaming: true }) async countdown(stream: StreamingResponse, from: number) {
    for (let i = from; i > 0; i--) stream.send(i);
    stream.end("liftoff");
  }
  /** Cloudflare code often ends in a finally as well: a second end() is ignored, not an error. */
  @callable({ streaming: true }) endTwice(stream: StreamingResponse) {
    this.setState({ score: this.state.score + 1 });
    stream.end("ok");
    return stream.end("again");
  }
  /** Fails after its last frame: that frame waited for a commit the rollback dropped. */
  @callable({ streaming: true }) endThenThrow(stream: StreamingResponse) {
    this.setState({ score: 555 });
    stream.end("ok");
    throw new Error("failed after the end");
  }
  onClose(connection: Connection) {
    closedIds.push(connection.id);
  }
  /** Goes on sending after its client left, once `resumeProducer` is called. */
  @callable({ streaming: true }) async produce(stream: StreamingResponse) {
    stream.send("first");
    await new Promise<void>((resolve) => (resumeProducer = resolve));
    let sent = 0;
    for (let i = 0; i < 100; i++) if (stream.send(i)) sent++;
    producedAfterLeave = sent;
  }
  /** Returns with the stream open (its client is left waiting, as on Cloudflare). */
  @callable({ streaming: true }) noEnd(stream: StreamingResponse) {
    stream.send(1);
  }
  @callable() score() {
    return this.state.score;
  }
  notCallable() {
    return "secret";
  }
}

let badStartStored = false;

/** Its initialState breaks its own rule: the first read throws and stores nothing. */
class BadStart extends Agent<unknown, { score: number }> {
  initialState = { score: -1 };
  validateStateChange(next: { score: number }) {
    if (next.score < 0) throw new Error("score must be a non-negative number");
  }
  onRequest() {
    try {
      return Response.json(this.state);
    } finally {
      badStartStored = this.sql<{ n: number }>`SELECT count(*) AS n FROM _hearth_state`[0]!.n > 0;
    }
  }
}

class Echo extends Agent {
  onMessage(conn: Connection, message: string | ArrayBuffer) {
    received.push(typeof message === "string" ? message : message.byteLength);
    conn.send(typeof message === "string" ? `echo:${message}` : message);
  }
}

let harness: Harness;
beforeEach(async () => {
  changes.length = 0;
  validated.length = 0;
  badStartStored = false;
  received.length = 0;
  harness = await startHarness({ Board, BadStart, Echo }, { maxMessageBytes: 64 * 1024 });
});
afterEach(() => harness.close());

const open = (path: string) => TestSocket.open(`${harness.wsUrl}${path}`);

describe("wire protocol", () => {
  it("sends identity, state and MCP frames on connect, in that order", async () => {
    const socket = await open("/agents/board/main");
    await socket.waitForType("cf_agent_mcp_servers");
    expect(socket.frames.slice(0, 3)).toEqual([
      { type: "cf_agent_identity", name: "main", agent: "board", stateFollows: true },
      { type: "cf_agent_state", state: { score: 0 } },
      { type: "cf_agent_mcp_servers", mcp: { servers: {}, tools: [], prompts: [], resources: [] } },
    ]);
    socket.close();
  });

  it("stores initialState as a server change at the first read: validated, then onStateChanged, once", async () => {
    const socket = await open("/agents/board/seeded");
    await socket.waitForType("cf_agent_mcp_servers");
    expect(validated).toEqual([{ score: 0 }]);
    expect(changes).toEqual([{ state: { score: 0 }, source: "server" }]);
    const again = await open("/agents/board/seeded");
    await again.waitForType("cf_agent_mcp_servers");
    expect(changes).toHaveLength(1);
    [socket, again].forEach((s) => s.close());
  });

  it("refuses an initialState its own validator rejects, storing nothing", async () => {
    const errors = loggedErrors();
    const response = await fetch(`${harness.url}/agents/bad-start/one`);
    errors.restore();
    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({ error: "Internal Server Error" }); // and the request id, when a logger reads ids
    expect(errors.text()).toContain("score must be a non-negative number");
    expect(badStartStored).toBe(false);
  });

  it("answers RPC, broadcasts state to others and reports the source", async () => {
    const a = await open("/agents/board/rpc?_pk=a");
    const b = await open("/agents/board/rpc?_pk=b");
    await b.waitForType("cf_agent_mcp_servers");
    const mark = b.frames.length;
    expect(await a.call("add", [5])).toEqual({ type: "rpc", id: "t1", success: true, result: 5, done: true });
    expect(await b.waitForType("cf_agent_state", mark)).toEqual({ type: "cf_agent_state", state: { score: 5 } });

    const markA = a.frames.length;
    b.send({ type: "cf_agent_state", state: { score: 42 } });
    expect(await a.waitForType("cf_agent_state", markA)).toEqual({ type: "cf_agent_state", state: { score: 42 } });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(b.frames.slice(mark + 1).filter((f) => typeof f === "object" && f.type === "cf_agent_state")).toHaveLength(0);
    expect(changes).toEqual([
      { state: { score: 0 }, source: "server" }, // initialState, stored at the first read
      { state: { score: 5 }, source: "server" },
      { state: { score: 42 }, source: "b" },
    ]);
    a.close();
    b.close();
  });

  it("streams chunks of a streaming callable and ends with done", async () => {
    const socket = await open("/agents/board/stream");
    socket.send({ type: "rpc", id: "s1", method: "countdown", args: [3] });
    await socket.waitFor((f) => typeof f === "object" && f.id === "s1" && f.done === true);
    const replies = socket.frames.filter((f) => typeof f === "object" && f.id === "s1");
    expect(replies).toEqual([
      { type: "rpc", id: "s1", success: true, result: 3, done: false },
      { type: "rpc", id: "s1", success: true, result: 2, done: false },
      { type: "rpc", id: "s1", success: true, result: 1, done: false },
      { type: "rpc", id: "s1", success: true, result: "liftoff", done: true },
    ]);
    socket.close();
  });

  it("ignores stream calls after the end, and answers a stream whose method failed after it ended", async () => {
    const socket = await open("/agents/board/ends");
    const warn = console.warn;
    console.warn = () => {}; // the warning Cloudflare prints too
    try {
      socket.send({ type: "rpc", id: "e1", method: "endTwice", args: [] });
      await socket.waitFor((f) => typeof f === "object" && f.id === "e1" && f.done === true);
      socket.send({ type: "rpc", id: "e2", method: "endThenThrow", args: [] });
      const failed = await socket.waitFor((f) => typeof f === "object" && f.id === "e2");
      expect(failed).toMatchObject({ type: "rpc", id: "e2", success: false, error: "failed after the end" });
      expect(socket.frames.filter((f) => typeof f === "object" && (f.id === "e1" || f.id === "e2"))).toEqual([
        { type: "rpc", id: "e1", success: true, result: "ok", done: true },
        { type: "rpc", id: "e2", success: false, error: "failed after the end" },
      ]);
      expect((await socket.call("score")).result).toBe(1); // endTwice's write kept, endThenThrow's rolled back
    } finally {
      console.warn = warn;
    }
    socket.close();
  });

  it("lets an agent hibernate once the client of a stream left open has gone", async () => {
    const socket = await open("/agents/board/open-stream");
    socket.send({ type: "rpc", id: "o1", method: "noEnd", args: [] });
    await socket.waitFor((f) => typeof f === "object" && f.id === "o1");
    socket.close();
    await socket.waitClosed();
    let hibernated = 0;
    for (let i = 0; i < 200 && hibernated === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10)); // the close reaches the agent
      hibernated = harness.host.hibernateIdleAgents();
    }
    expect(hibernated).toBe(1);
    expect(harness.host.internals.isLive("Board", "open-stream")).toBe(false);
  });

  it("releases a stream left open when a reconnect with the same id replaces its socket", async () => {
    const first = await open("/agents/board/replaced?_pk=same");
    first.send({ type: "rpc", id: "r1", method: "noEnd", args: [] });
    await first.waitFor((f) => typeof f === "object" && f.id === "r1");
    const second = await open("/agents/board/replaced?_pk=same"); // the first socket is closed, 4000
    await first.waitClosed();
    await second.waitForType("cf_agent_mcp_servers"); // connected
    // The agent may hibernate with the new socket open (a hibernatable WebSocket); the old stream no longer holds it.
    let hibernated = 0;
    for (let i = 0; i < 200 && hibernated === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      hibernated = harness.host.hibernateIdleAgents();
    }
    expect(hibernated).toBe(1);
    second.close();
  });

  it("drops a stream's chunks quietly once its client has left", async () => {
    const socket = await open("/agents/board/producer?_pk=producer-client");
    socket.send({ type: "rpc", id: "p1", method: "produce", args: [] });
    await socket.waitFor((f) => typeof f === "object" && f.id === "p1");
    socket.close();
    await socket.waitClosed();
    const warnings: unknown[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void warnings.push(args);
    try {
      // The agent learns its client left (onClose), then the producer goes on.
      for (let i = 0; i < 2000 && !closedIds.includes("producer-client"); i++) await new Promise((resolve) => setTimeout(resolve, 5));
      resumeProducer!();
      for (let i = 0; i < 2000 && producedAfterLeave === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    } finally {
      console.warn = warn;
    }
    expect(producedAfterLeave).toBe(0);
    expect(warnings).toEqual([]);
  });

  it("rejects state from read-only connections and invalid state, keeping the stored state", async () => {
    const viewer = await open("/agents/board/guarded?viewer");
    await viewer.waitForType("cf_agent_mcp_servers");
    viewer.send({ type: "cf_agent_state", state: { score: 7 } });
    expect(await viewer.waitForType("cf_agent_state_error")).toEqual({ type: "cf_agent_state_error", error: "Connection is readonly" });

    const editor = await open("/agents/board/guarded");
    await editor.waitForType("cf_agent_mcp_servers");
    editor.send({ type: "cf_agent_state", state: { score: -1 } });
    expect(await editor.waitForType("cf_agent_state_error")).toEqual({ type: "cf_agent_state_error", error: "State update rejected" });

    const fresh = await open("/agents/board/guarded");
    expect(await fresh.waitForType("cf_agent_state")).toEqual({ type: "cf_agent_state", state: { score: 0 } });
    [viewer, editor, fresh].forEach((s) => s.close());
  });

  it("gives a raw socket no protocol frames", async () => {
    const raw = await open("/agents/board/rawish?raw");
    const reply = await raw.call("add", [1]);
    expect(reply.success).toBe(true);
    expect(raw.frames.filter((f) => typeof f === "object" && String(f.type).startsWith("cf_agent"))).toHaveLength(0);
    raw.close();
  });
});

describe("bad input", () => {
  it("answers every bad frame with a clear error and keeps serving, losing nothing", async () => {
    const socket = await open("/agents/board/hostile");
    expect((await socket.call("add", [10])).result).toBe(10);

    const cases: Array<[unknown[] | string, string, RegExp]> = [
      [[], "nope", /^Method nope does not exist$/],
      [[], "notCallable", /^Method notCallable is not callable$/],
      [["ten"], "add", /Invalid arguments for add\(\): 0: expected \[number\]/],
      [[], "fail", /deliberate failure/],
      [[], "bigint", /cannot be sent as JSON/],
      [[], "constructor", /not callable|does not exist/],
    ];
    for (const [args, method, error] of cases) {
      const reply = await socket.call(method, args as unknown[]);
      expect(reply.success, method).toBe(false);
      expect(String(reply.error)).toMatch(error);
    }

    let mark = socket.frames.length;
    socket.send({ type: "rpc", id: "bad-args", method: "add", args: "ten" });
    expect(await socket.waitFor((f) => typeof f === "object" && f.id === "bad-args", mark)).toMatchObject({
      success: false,
      error: 'RPC "args" must be an array',
    });
    for (const frame of ["not json at all", "{broken json", JSON.stringify({ type: "mystery" }), JSON.stringify({ type: "rpc", method: "add" })]) {
      mark = socket.frames.length;
      socket.send(frame);
      const error = await socket.waitForType("hearth_error", mark);
      expect(String(error.error)).toMatch(/no onMessage handler|needs a string "id"/);
    }

    mark = socket.frames.length;
    const huge = JSON.stringify({ type: "rpc", id: "huge", method: "add", args: ["x".repeat(100 * 1024)] });
    socket.send(huge);
    const tooBig = await socket.waitFor((f) => typeof f === "object" && f.id === "huge", mark);
    expect(tooBig).toMatchObject({ success: false });
    expect(String((tooBig as { error: string }).error)).toMatch(/exceeds the limit of 65536 bytes \(maxMessageBytes\)/);
    // Cloudflare's client puts the fields after the payload ({args,id,method,type}, {state,type}): the
    // refusal still reaches the call, and a client setState still hears it was refused.
    mark = socket.frames.length;
    socket.send(JSON.stringify({ args: ["x".repeat(100 * 1024), { id: "inner" }], id: "tail-first", method: "add", type: "rpc" }));
    expect(await socket.waitFor((f) => typeof f === "object" && f.id === "tail-first", mark)).toMatchObject({ type: "rpc", success: false });
    mark = socket.frames.length;
    socket.send(JSON.stringify({ state: { big: "x".repeat(100 * 1024) }, type: "cf_agent_state" }));
    expect(String((await socket.waitForType("cf_agent_state_error", mark)).error)).toMatch(/maxMessageBytes/);
    mark = socket.frames.length;
    socket.send("x".repeat(70 * 1024));
    expect(String((await socket.waitForType("hearth_error", mark)).error)).toMatch(/maxMessageBytes/);

    // The failed call's setState(999) was rolled back; everything before it is intact.
    expect((await socket.call("add", [1])).result).toBe(11);
    expect(socket.closed).toBeUndefined();
    socket.close();
  });

  it("passes unknown JSON, text and binary frames to onMessage when the agent has one", async () => {
    const socket = await open("/agents/echo/e");
    socket.send(JSON.stringify({ type: "custom", hello: 1 }));
    socket.send("plain text");
    socket.socket.send(new Uint8Array([1, 2, 3]));
    await socket.waitFor((f) => f === "binary:010203");
    expect(received).toEqual([JSON.stringify({ type: "custom", hello: 1 }), "plain text", 3]);
    expect(socket.frames).toContain('echo:{"type":"custom","hello":1}');
    socket.close();
  });
});
