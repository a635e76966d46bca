import { afterEach, describe, expect, it } from "vitest";
import { DurableObject, VirtualClock, WebSocketPair, type DurableObjectNamespace, type WorkersWebSocket } from "../../src/index.ts";
import { startHarness, TestSocket, type Harness } from "../support/harness.ts";
import { upgradeResponse } from "./helpers.ts";

interface Env {
  ROOMS: DurableObjectNamespace<Room>;
}

const alarms: Array<{ name: string | undefined; retryCount: number }> = [];

class Room extends DurableObject<Env> {
  constructor(ctx: ConstructorParameters<typeof DurableObject>[0], env: Env) {
    super(ctx, env);
    this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS messages (text TEXT)");
  }

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.headers.get("upgrade") === "websocket") {
      const { 0: client, 1: server } = new WebSocketPair();
      this.ctx.acceptWebSocket(server, [url.searchParams.get("team") ?? "none"]);
      server.serializeAttachment({ user: url.searchParams.get("user") });
      return upgradeResponse(client);
    }
    return Response.json({ id: this.ctx.id.toString(), name: this.ctx.id.name, count: await this.count() });
  }

  post(text: string): number {
    this.ctx.storage.sql.exec("INSERT INTO messages (text) VALUES (?)", text);
    return this.ctx.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM messages").one().n;
  }

  async count(): Promise<number> {
    return this.ctx.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM messages").one().n;
  }

  async remindAt(at: number): Promise<number | null> {
    await this.ctx.storage.setAlarm(at);
    return this.ctx.storage.getAlarm();
  }

  async alarm(info?: { retryCount: number }): Promise<void> {
    alarms.push({ name: this.ctx.id.name, retryCount: info?.retryCount ?? -1 });
    if ((await this.ctx.storage.get<boolean>("fail-once")) && info?.retryCount === 0) throw new Error("first alarm fails");
  }

  async failFirstAlarm(): Promise<void> {
    await this.ctx.storage.put("fail-once", true);
  }

  webSocketMessage(ws: WorkersWebSocket, message: string | ArrayBuffer): void {
    const { user } = ws.deserializeAttachment() as { user: string };
    if (message === "who") {
      ws.send(JSON.stringify({ user, tags: this.ctx.getTags(ws), sockets: this.ctx.getWebSockets().length }));
      return;
    }
    for (const peer of this.ctx.getWebSockets(this.ctx.getTags(ws)[0])) peer.send(`${user}: ${String(message)}`);
  }
}

const worker = async (request: Request, env: Record<string, unknown>): Promise<Response> => {
  const rooms = env.ROOMS as DurableObjectNamespace<Room>;
  const name = new URL(request.url).pathname.split("/")[2] ?? "default";
  return rooms.getByName(name).fetch(request);
};

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  alarms.length = 0;
});

describe("plain Durable Objects", () => {
  it("serves fetch and RPC, with ids from names and strings", async () => {
    harness = await startHarness({}, { durableObjects: { ROOMS: Room }, fetch: worker });
    const rooms = harness.host.env.ROOMS as DurableObjectNamespace<Room>;
    expect(await rooms.getByName("lobby").post("hi")).toBe(1);
    expect(await rooms.getByName("lobby").post("again")).toBe(2);
    const res = await fetch(`${harness.url}/rooms/lobby`);
    const body = (await res.json()) as { id: string; name: string; count: number };
    expect(body).toMatchObject({ name: "lobby", count: 2 });
    expect(body.id).toMatch(/^[0-9a-f]{64}$/);
    const byString = rooms.get(rooms.idFromString(body.id));
    expect(await byString.count()).toBe(2);
    expect(rooms.idFromName("lobby").equals(rooms.idFromString(body.id))).toBe(true);
    const unique = rooms.get(rooms.newUniqueId());
    expect(await unique.count()).toBe(0);
    expect(() => rooms.idFromString("nope")).toThrow(/64 hex digits/);
    expect(() => rooms.idFromString("0".repeat(64))).toThrow(/does not match this Durable Object class/);
    await expect((rooms.getByName("lobby") as unknown as { alarm(): Promise<void> }).alarm()).rejects.toThrow(
      'The RPC receiver does not implement the method "alarm".',
    );
  });

  it("keeps the name of an object reached by id after hibernation", async () => {
    harness = await startHarness({}, { durableObjects: { ROOMS: Room }, fetch: worker, hibernateAfterMs: 60_000 });
    const rooms = harness.host.env.ROOMS as DurableObjectNamespace<Room>;
    const id = rooms.idFromName("named").toString();
    await rooms.getByName("named").post("x");
    harness.host.hibernateIdleAgents();
    const res = await rooms.get(rooms.idFromString(id)).fetch("http://do/");
    expect(((await res.json()) as { name: string }).name).toBe("named");
  });

  it("accepts hibernatable WebSockets whose attachments and tags survive hibernation", async () => {
    harness = await startHarness({}, { durableObjects: { ROOMS: Room }, fetch: worker });
    const ada = await TestSocket.open(`${harness.wsUrl}/rooms/chat?user=ada&team=red`);
    const bob = await TestSocket.open(`${harness.wsUrl}/rooms/chat?user=bob&team=red`);
    const eve = await TestSocket.open(`${harness.wsUrl}/rooms/chat?user=eve&team=blue`);
    ada.send("who");
    expect(await ada.waitFor((f) => typeof f === "object" && f.user === "ada")).toMatchObject({ tags: ["red"], sockets: 3 });
    expect(harness.host.hibernateIdleAgents()).toBe(1);
    expect(harness.host.stats.liveAgents).toBe(0);
    bob.send("hello");
    await ada.waitFor((f) => f === "bob: hello");
    await bob.waitFor((f) => f === "bob: hello");
    eve.send("who");
    expect(await eve.waitFor((f) => typeof f === "object" && f.user === "eve")).toMatchObject({ tags: ["blue"] });
    expect(eve.frames).not.toContain("bob: hello");
    for (const socket of [ada, bob, eve]) socket.close();
  });

  it("runs the alarm at its time, retries it when it throws, and reports null while it runs", async () => {
    const clock = new VirtualClock({ start: Date.parse("2026-01-01T00:00:00Z") });
    harness = await startHarness({}, { durableObjects: { ROOMS: Room }, fetch: worker, clock });
    const rooms = harness.host.env.ROOMS as DurableObjectNamespace<Room>;
    const room = rooms.getByName("alarmed");
    await room.failFirstAlarm();
    const at = clock.now() + 60_000;
    expect(await room.remindAt(at)).toBe(at);
    await clock.advance("60 s");
    await harness.host.tasksIdle();
    expect(alarms).toEqual([{ name: "alarmed", retryCount: 0 }]);
    await clock.advance("5 s");
    await harness.host.tasksIdle();
    expect(alarms).toEqual([
      { name: "alarmed", retryCount: 0 },
      { name: "alarmed", retryCount: 1 },
    ]);
    expect(await room.remindAt(clock.now() + 1000)).toBe(clock.now() + 1000);
  });
});
