import { WebSocket as RawClient } from "ws";
import { afterEach, describe, expect, it } from "vitest";
import { Agent, type Connection, type ConnectionContext } from "../../src/index.ts";
import { DISCONNECTED } from "../../src/websocket/close-reason.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";

let starts = 0;
const closed: Array<{ id: string; code: number }> = [];
const reasons = new Map<string, string>();

class Room extends Agent<unknown, { topic: string }> {
  initialState = { topic: "none" };
  onStart() {
    starts++;
  }
  getConnectionTags(_conn: Connection, ctx: ConnectionContext) {
    return [new URL(ctx.request.url).searchParams.get("team") ?? "nobody"];
  }
  onConnect(conn: Connection, ctx: ConnectionContext) {
    conn.setState({ user: new URL(ctx.request.url).searchParams.get("user") ?? "anon" });
  }
  onClose(conn: Connection, code: number, reason: string) {
    closed.push({ id: conn.id, code });
    reasons.set(conn.id, reason);
  }
  onMessage(conn: Connection, message: string | ArrayBuffer) {
    if (message === "whoami") {
      conn.send(JSON.stringify({ type: "me", id: conn.id, state: conn.state, tags: conn.tags, topic: this.state.topic }));
    } else if (typeof message === "string" && message.startsWith("team:")) {
      const [, team, text] = message.split(":");
      for (const member of this.getConnections(team)) member.send(JSON.stringify({ type: "team", text }));
    }
  }
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000; // generous: a loaded machine is slow, the test timeout is 30 s
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in 5 s");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe("hibernation", () => {
  it("drops an idle agent from memory while its sockets stay open with their state and tags", async () => {
    harness = await startHarness({ Room }, { hibernateAfterMs: 50 });
    starts = 0;
    const ada = await TestSocket.open(`${harness.wsUrl}/agents/room/lobby?_pk=ada-1&user=ada&team=red`);
    const bob = await TestSocket.open(`${harness.wsUrl}/agents/room/lobby?user=bob&team=blue`);
    await ada.waitForType("cf_agent_mcp_servers");
    await bob.waitForType("cf_agent_mcp_servers");
    expect(starts).toBeGreaterThanOrEqual(1); // a slow machine may hibernate it between the two connects

    await until(() => harness!.host.stats.liveAgents === 0);
    expect(harness.host.stats.sockets).toBe(2);
    const startsWhileAsleep = starts;

    const mark = ada.frames.length;
    ada.send("whoami");
    const me = await ada.waitForType("me", mark);
    expect(me).toEqual({ type: "me", id: "ada-1", state: { user: "ada" }, tags: ["ada-1", "red"], topic: "none" });
    expect(starts).toBe(startsWhileAsleep + 1); // woken from storage: a new instance ran onStart

    await until(() => harness!.host.stats.liveAgents === 0);
    const bobMark = bob.frames.length;
    ada.send("team:blue:hello blue");
    expect(await bob.waitForType("team", bobMark)).toEqual({ type: "team", text: "hello blue" });
    expect(ada.frames.slice(mark).some((f) => typeof f === "object" && f.type === "team")).toBe(false);
    ada.close();
    bob.close();
  });

  it("runs onClose for a socket of a hibernated agent and forgets it", async () => {
    harness = await startHarness({ Room }, { hibernateAfterMs: 50 });
    const socket = await TestSocket.open(`${harness.wsUrl}/agents/room/closing?_pk=leaver`);
    await socket.waitForType("cf_agent_mcp_servers");
    await until(() => harness!.host.stats.liveAgents === 0);
    const startsBefore = starts;
    socket.socket.close(4001, "bye");
    await until(() => closed.some((c) => c.id === "leaver"));
    expect(closed.find((c) => c.id === "leaver")).toEqual({ id: "leaver", code: 4001 });
    expect(starts).toBe(startsBefore + 1);
    expect(harness.host.stats.sockets).toBe(0);
  });

  it("gives onClose the Workers runtime's reason for a connection dropped without a close frame (1006)", async () => {
    harness = await startHarness({ Room }, { hibernateAfterMs: 50 });
    const raw = new RawClient(`${harness.wsUrl}/agents/room/abrupt?_pk=dropper`);
    await new Promise((resolve, reject) => raw.once("open", resolve).once("error", reject));
    await until(() => harness!.host.stats.sockets === 1);
    raw.terminate();
    await until(() => closed.some((c) => c.id === "dropper"));
    expect({ ...closed.find((c) => c.id === "dropper"), reason: reasons.get("dropper") }).toEqual({ id: "dropper", code: 1006, reason: DISCONNECTED });
  });
});
