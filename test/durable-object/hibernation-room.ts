/**
 * The Durable Object class of the hibernation suites (hibernation.test.ts, hibernation-close.test.ts):
 * a room that accepts hibernatable sockets and records what its handlers see, by object name.
 */
import {
  DurableObject,
  WebSocketPair,
  WebSocketRequestResponsePair,
  type DurableObjectNamespace,
  type HostOptions,
  type WorkersWebSocket,
} from "../../src/index.ts";
import { startHarness, type Harness, type TestSocket } from "../support/harness.ts";
import { upgradeResponse, type Deferred } from "./helpers.ts";

/** Per object name: what its handlers saw, and how often it was constructed (each wake makes a new instance). */
export const logs = new Map<string, string[]>();
export const constructed = new Map<string, number>();
export function log(name: string): string[] {
  let entries = logs.get(name);
  if (!entries) logs.set(name, (entries = []));
  return entries;
}

type Attachment = { user: string | null };
/** Holds fetch after acceptWebSocket, before the 101 leaves (for a client that goes away meanwhile). */
export const upgradeGate: { slow?: Deferred } = {};

export class Room extends DurableObject {
  /** The socket objects this instance accepted: a woken instance gets new ones. */
  readonly #accepted = new Set<WorkersWebSocket>();
  readonly #log = log(this.ctx.id.name!);

  constructor(ctx: ConstructorParameters<typeof DurableObject>[0], env: unknown) {
    super(ctx, env);
    constructed.set(ctx.id.name!, (constructed.get(ctx.id.name!) ?? 0) + 1);
  }

  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const { 0: client, 1: server } = new WebSocketPair();
    if (url.searchParams.has("accept")) {
      // The accept() API, then no 101: the socket's close event is all it ever gets.
      server.accept();
      server.addEventListener("close", (event) => {
        const { code, reason, wasClean } = event as CloseEvent;
        this.#log.push(`closed ${code} ${reason} ${wasClean}`);
      });
      return new Response("denied", { status: 403 });
    }
    this.ctx.acceptWebSocket(server, url.searchParams.getAll("tag"));
    server.serializeAttachment({ user: url.searchParams.get("user") } satisfies Attachment);
    (server as unknown as { marker: string }).marker = "set at accept";
    this.#accepted.add(server);
    if (url.searchParams.has("slow")) await upgradeGate.slow?.promise;
    if (url.searchParams.has("fail")) throw new Error("fetch failed after acceptWebSocket");
    if (url.searchParams.has("deny")) return new Response("denied", { status: 403 });
    return upgradeResponse(client);
  }

  webSocketMessage(ws: WorkersWebSocket, message: string | ArrayBuffer): void {
    const text = typeof message === "string" ? message : `binary ${message.byteLength}`;
    this.#log.push(`message ${text}`);
    if (text === "who") {
      ws.send(
        JSON.stringify({
          user: (ws.deserializeAttachment() as Attachment).user,
          tags: this.ctx.getTags(ws),
          marker: (ws as unknown as { marker?: string }).marker ?? null,
          same: this.#accepted.has(ws),
          sockets: this.ctx.getWebSockets().length,
          autoResponseAt: this.ctx.getWebSocketAutoResponseTimestamp(ws)?.toISOString() ?? null,
        }),
      );
    } else if (text.startsWith("order")) {
      const tag = text.split(" ")[1];
      ws.send(JSON.stringify({ order: this.ctx.getWebSockets(tag).map((peer) => (peer.deserializeAttachment() as Attachment).user) }));
    } else if (text.startsWith("count ")) {
      ws.send(JSON.stringify({ count: this.ctx.getWebSockets(text.slice("count ".length)).length }));
    } else if (text === "bye") {
      ws.close(4000, "bye");
    } else {
      ws.send(`echo ${text}`);
    }
  }

  webSocketClose(ws: WorkersWebSocket, code: number, reason: string, wasClean: boolean): void {
    const user = (ws.deserializeAttachment() as Attachment | null)?.user; // in-memory test sockets have none
    this.#log.push(`close ${user} ${code} ${reason} ${wasClean}`);
    ws.close(code, reason); // what Cloudflare's examples do; the socket is already closed, so this does nothing
  }

  webSocketError(ws: WorkersWebSocket, error: unknown): void {
    const { user } = ws.deserializeAttachment() as Attachment;
    this.#log.push(`error ${user} ${error instanceof Error ? error.message : String(error)}`);
  }

  /** Accepts an in-memory pair's server end with these tags; the tags kept, or the error. */
  acceptTags(tags: unknown): { tags: string[] } | { error: string; name: string } {
    const { 1: server } = new WebSocketPair();
    try {
      this.ctx.acceptWebSocket(server, tags as string[]);
      return { tags: this.ctx.getTags(server) };
    } catch (error) {
      return { error: (error as Error).message, name: (error as Error).name };
    }
  }

  /** How many sockets `getWebSockets(tag)` lists, the tag passed as it is. */
  countTagged(tag: unknown): number {
    return this.ctx.getWebSockets(tag as string).length;
  }

  /** getTags() of a socket accepted with accept(), and of one nobody accepted. */
  tagsOfOthers(): string[] {
    const errors: string[] = [];
    for (const accept of [true, false]) {
      const { 1: server } = new WebSocketPair();
      if (accept) server.accept();
      try {
        this.ctx.getTags(server);
      } catch (error) {
        errors.push((error as Error).message);
      }
    }
    return errors;
  }

  /** acceptWebSocket on a socket accept() took: the error, and how many sockets the object has after. */
  acceptAfterAccept(): { error: string; sockets: number } {
    const { 0: client, 1: server } = new WebSocketPair();
    client.accept();
    server.accept();
    try {
      this.ctx.acceptWebSocket(server);
      return { error: "none", sockets: this.ctx.getWebSockets().length };
    } catch (error) {
      return { error: (error as Error).message, sockets: this.ctx.getWebSockets().length };
    }
  }

  /** Serializes an attachment of a string this long; null when it fits, else the error. */
  attach(length: number): { error: string; name: string } | null {
    const { 1: server } = new WebSocketPair();
    this.ctx.acceptWebSocket(server);
    if (server.deserializeAttachment() !== null) throw new Error("a fresh socket has no attachment");
    try {
      server.serializeAttachment("x".repeat(length));
      return null;
    } catch (error) {
      return { error: (error as Error).message, name: (error as Error).name };
    } finally {
      server.close(1000);
    }
  }

  autoRespond(request: string, response: string): { request: string; response: string } | null {
    this.ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(request, response));
    const pair = this.ctx.getWebSocketAutoResponse();
    return pair && { request: pair.request, response: pair.response };
  }

  autoRespondError(request: string, response: string): string {
    try {
      this.ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(request, response));
      return "no error";
    } catch (error) {
      return `${(error as Error).name}: ${(error as Error).message}`;
    }
  }

  stopAutoResponse(): boolean {
    this.ctx.setWebSocketAutoResponse();
    return this.ctx.getWebSocketAutoResponse() === null;
  }

  eventTimeout(ms: number | undefined): number | null | string {
    try {
      this.ctx.setHibernatableWebSocketEventTimeout(ms);
      return this.ctx.getHibernatableWebSocketEventTimeout();
    } catch (error) {
      return (error as Error).message;
    }
  }

  /** How many sockets it has accepted with acceptWebSocket (and not seen close). */
  count(): number {
    return this.ctx.getWebSockets().length;
  }

  /** Accepts in-memory sockets up to the per-object limit, then one more; the error of that one. */
  fill(): { accepted: number; error: string } {
    let accepted = 0;
    for (;;) {
      const { 1: server } = new WebSocketPair();
      try {
        this.ctx.acceptWebSocket(server);
        accepted++;
      } catch (error) {
        return { accepted, error: `${(error as Error).name}: ${(error as Error).message}` };
      }
    }
  }
}

export type Rooms = DurableObjectNamespace<Room>;

/** `/rooms/<name>` reaches the room; with `?drop`, the worker answers 401 instead of the room's 101. */
export const worker = async (request: Request, env: Record<string, unknown>): Promise<Response> => {
  const url = new URL(request.url);
  const response = await (env.ROOMS as Rooms).getByName(url.pathname.split("/")[2] ?? "default").fetch(request);
  return url.searchParams.has("drop") ? new Response("not you", { status: 401 }) : response;
};

export async function startRooms(options: Partial<HostOptions> = {}): Promise<{ harness: Harness; rooms: Rooms }> {
  const harness = await startHarness({}, { durableObjects: { ROOMS: Room }, fetch: worker, hibernateAfterMs: 60_000, ...options });
  return { harness, rooms: harness.host.env.ROOMS as Rooms };
}

export async function who(socket: TestSocket): Promise<Record<string, unknown>> {
  const from = socket.frames.length;
  socket.send("who");
  return (await socket.waitFor((f) => typeof f === "object" && "marker" in f, from)) as Record<string, unknown>;
}
