/**
 * Plain Durable Objects get the same spans as agents: the HTTP server span, then `fetch` for the
 * object's fetch(), `rpc {method}` for a stub call, and `webSocketMessage` for a hibernatable socket.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DurableObject, WebSocketPair, type DurableObjectNamespace } from "../../../src/index.ts";
import { enableTracing, type SpanRecord, type Tracing } from "../../../src/observability/traces/index.ts";
import { upgradeResponse } from "../../durable-object/helpers.ts";
import { startHarness, TestSocket, type Harness } from "../../support/harness.ts";

interface Env {
  ROOMS: DurableObjectNamespace<Room>;
}

class Room extends DurableObject<Env> {
  override async fetch(request: Request): Promise<Response> {
    if (request.headers.get("upgrade") === "websocket") {
      const { 0: client, 1: server } = new WebSocketPair();
      this.ctx.acceptWebSocket(server);
      return upgradeResponse(client);
    }
    return Response.json({ posted: await this.post("from fetch") });
  }

  async post(text: string): Promise<number> {
    await Promise.resolve();
    return text.length;
  }

  webSocketMessage(ws: { send(message: string): void }, message: string | ArrayBuffer): void {
    if (message === "fail") throw new Error("the room refused the message");
    ws.send(`echo ${String(message)}`);
  }
}

async function worker(request: Request, env: Record<string, unknown>): Promise<Response> {
  const rooms = env["ROOMS"] as DurableObjectNamespace<Room>;
  return rooms.get(rooms.idFromName("lobby")).fetch(request);
}

let harness: Harness | undefined;
let tracing: Tracing | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  await tracing?.close();
  tracing = undefined;
});

function spansNamed(name: string): SpanRecord[] {
  const all = tracing!.store.listTraces({ limit: 100 }).items.flatMap((t) => tracing!.store.getTrace(t.traceId)!.spans);
  return all.filter((span) => span.name === name);
}

describe("traces of plain Durable Objects", () => {
  it("puts fetch() under the HTTP span and a stub call inside it under fetch", async () => {
    tracing = enableTracing({ otlp: false });
    harness = await startHarness({}, { durableObjects: { ROOMS: Room }, fetch: worker });
    const response = await fetch(`${harness.url}/rooms/lobby`);
    expect(await response.json()).toEqual({ posted: 10 });
    const [http] = spansNamed("GET");
    const [fetchSpan] = spansNamed("fetch");
    expect(fetchSpan).toBeDefined();
    expect(fetchSpan!.parentSpanId).toBe(http!.spanId);
    // A plain object is known by its binding and its id, as in the host's logs.
    const rooms = harness.host.env["ROOMS"] as DurableObjectNamespace<Room>;
    const id = rooms.idFromName("lobby").toString();
    expect(fetchSpan!.attributes).toMatchObject({ "hearth.agent.class": "ROOMS", "hearth.agent.name": id, "hearth.event": "fetch" });
    expect(await rooms.get(rooms.idFromName("lobby")).post("hello")).toBe(5);
    const [rpc] = spansNamed("rpc post");
    expect(rpc!.attributes).toMatchObject({ "hearth.agent.class": "ROOMS", "hearth.agent.name": id, "hearth.event": "rpc" });
  });

  it("traces socket handlers, and marks the span failed when one throws", async () => {
    tracing = enableTracing({ otlp: false });
    harness = await startHarness({}, { durableObjects: { ROOMS: Room }, fetch: worker });
    const socket = await TestSocket.open(`${harness.wsUrl}/rooms/lobby`);
    socket.send("hi");
    await socket.waitFor((frame) => frame === "echo hi");
    socket.send("fail");
    await expect.poll(() => spansNamed("webSocketMessage").length).toBe(2);
    const [ok, failed] = spansNamed("webSocketMessage").sort((a, b) => a.startedAt - b.startedAt);
    expect(ok!.status.code).toBe(0);
    expect(failed!.status).toMatchObject({ code: 2, message: "the room refused the message" });
    socket.close();
  });
});
