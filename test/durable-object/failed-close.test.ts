/**
 * A close made in an event that fails is undone with the rest of the event: the close frame never
 * leaves, and the socket is open again — it can send and be closed again, stays listed as OPEN by
 * `getWebSockets()`, and (accepted with `accept()`) lets its object go once it really closes.
 */
import { afterEach, describe, expect, it } from "vitest";
import { DurableObject, WebSocketPair, type DurableObjectNamespace, type WorkersWebSocket } from "../../src/index.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";
import { dataOf, until, upgradeResponse } from "./helpers.ts";

/** What a socket's message asks the object to do; every other message is answered with the socket's state. */
function act(ctx: DurableObjectState, ws: WorkersWebSocket, text: string): void | Promise<void> {
  if (text === "close-then-throw") {
    ctx.storage.kv.put("closed", true);
    ws.close(4000, "bye");
    throw new Error("failed after close()");
  }
  if (text === "close-in-undone-transaction") {
    // The closure's rollback undoes what it did, the close included; the event itself succeeds.
    return ctx.storage
      .transaction(async (txn) => {
        ws.close(4002, "undone");
        txn.rollback();
      })
      .then(() => ws.send(`after rollback: ${ws.readyState}`));
  }
  if (text === "close") return ws.close(4001, "for real");
  ws.send(JSON.stringify({ readyState: ws.readyState, listed: ctx.getWebSockets().map((peer) => peer.readyState), stored: ctx.storage.kv.get("closed") ?? false }));
}

type DurableObjectState = ConstructorParameters<typeof DurableObject>[0];

class Hibernating extends DurableObject {
  fetch(): Response {
    const { 0: client, 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    return upgradeResponse(client);
  }

  webSocketMessage(ws: WorkersWebSocket, message: string | ArrayBuffer): void | Promise<void> {
    return act(this.ctx, ws, String(message));
  }
}

class Listening extends DurableObject {
  fetch(): Response {
    const { 0: client, 1: server } = new WebSocketPair();
    server.accept();
    server.addEventListener("message", (event) => void act(this.ctx, server, String(dataOf(event))));
    return upgradeResponse(client);
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function open(path: string): Promise<{ harness: Harness; socket: TestSocket }> {
  harness = await startHarness(
    {},
    {
      durableObjects: { HIBERNATING: Hibernating, LISTENING: Listening },
      hibernateAfterMs: 60_000,
      fetch: (request, env) => {
        const [, binding, name] = new URL(request.url).pathname.split("/");
        return (env[binding!.toUpperCase()] as DurableObjectNamespace).getByName(name!).fetch(request);
      },
    },
  );
  return { harness, socket: await TestSocket.open(`${harness.wsUrl}/${path}`) };
}

/** The socket's state as the object sees it, asked after everything sent before (so a close sent meanwhile would have arrived first). */
async function state(socket: TestSocket): Promise<unknown> {
  const from = socket.frames.length;
  socket.send("state");
  return socket.waitFor((frame) => typeof frame === "object" && "readyState" in frame, from);
}

describe("a close made in an event that fails", () => {
  it("is undone for a hibernatable socket: it stays open, sends, and closes again", async () => {
    const { socket } = await open("hibernating/a");
    socket.send("close-then-throw");
    expect(await state(socket)).toEqual({ readyState: WebSocket.OPEN, listed: [WebSocket.OPEN], stored: false });
    expect(socket.closed).toBeUndefined();
    socket.send("close");
    expect(await socket.waitClosed()).toEqual({ code: 4001, reason: "for real" });
  });

  it("is undone for a socket accepted with accept(), which then holds its object until it really closes", async () => {
    const { harness, socket } = await open("listening/b");
    socket.send("close-then-throw");
    expect(await state(socket)).toEqual({ readyState: WebSocket.OPEN, listed: [], stored: false });
    expect(socket.closed).toBeUndefined();
    expect(harness.host.hibernateIdleAgents()).toBe(0);
    socket.send("close");
    expect(await socket.waitClosed()).toEqual({ code: 4001, reason: "for real" });
    await until(() => harness.host.hibernateIdleAgents() === 1, "the object to be let go");
  });

  it("is undone when the transaction() closure that made it rolls back", async () => {
    const { socket } = await open("hibernating/c");
    socket.send("close-in-undone-transaction");
    expect(await socket.waitFor((frame) => typeof frame === "string" && frame.startsWith("after rollback"))).toBe(`after rollback: ${WebSocket.OPEN}`);
    expect(await state(socket)).toMatchObject({ readyState: WebSocket.OPEN });
    expect(socket.closed).toBeUndefined();
    socket.send("close");
    expect(await socket.waitClosed()).toEqual({ code: 4001, reason: "for real" });
  });
});
