import { randomUUID } from "node:crypto";
import type { RawSocket, SocketRecord } from "../agent/connection.ts";
import type { AgentRuntime } from "../agent/runtime.ts";
import { MAX_AUTO_RESPONSE_BYTES, WebSocketRequestResponsePair } from "../websocket/auto-response.ts";
import type { SocketEnd, SocketReceiver } from "../websocket/end.ts";
import type { AcceptedEnds } from "./accepted-ends.ts";
import { endOf, socketOver, type WorkersWebSocket } from "../websocket/socket.ts";

/** Cloudflare's limits: distinct tags per socket, UTF-8 bytes per tag, auto-response bytes, event timeout (7 days). */
const MAX_TAGS = 10;
const MAX_TAG_BYTES = 256;
const MAX_EVENT_TIMEOUT_MS = 604_800_000;

/** The end behind each socket an actor accepted; records outlive the actor's instances, so this is module-wide. */
const endsOfRecords = new WeakMap<SocketRecord, SocketEnd>();

interface Settings {
  autoResponse?: WebSocketRequestResponsePair;
  eventTimeoutMs?: number;
}

/**
 * The WebSocket Hibernation API of one actor instance: sockets it accepted stay with the host while it
 * sleeps; their messages wake it. Each instance hands out its own objects over the same sockets (so
 * properties set on an object before hibernation are gone after it, as on Cloudflare — the attachment
 * is what survives).
 */
export class HibernatableSockets {
  readonly #runtime: AgentRuntime;
  readonly #objects = new WeakMap<SocketRecord, WorkersWebSocket>();
  readonly #settings: Settings;
  /** What each event accepted: a fetch that hands none of them out closes them (accepted-ends.ts). */
  readonly #accepted: AcceptedEnds;

  constructor(runtime: AgentRuntime, accepted: AcceptedEnds) {
    this.#runtime = runtime;
    this.#settings = runtime.socketSettings() as Settings;
    this.#accepted = accepted;
  }

  accept(ws: WorkersWebSocket, tags: readonly string[] = []): void {
    const end = endOf(ws);
    const checked = checkTags(tags);
    end.checkAcceptableForActor(); // before the host registers it: a refused socket must not linger there
    const record: SocketRecord = {
      id: randomUUID(),
      socket: rawSocket(end),
      url: end.url ?? "",
      tags: checked,
      stateJson: undefined,
      readonly: false,
      protocol: false,
      connected: true,
    };
    const events = this.#runtime.adoptSocket(record);
    const settings = this.#settings;
    const receiver: SocketReceiver = {
      message: (data) => {
        const auto = settings.autoResponse;
        if (auto !== undefined && data === auto.request) {
          // Answered here: the actor is not woken. Not once the actor closed the socket (a send would throw).
          if (!end.outgoingClosed) end.send(auto.response);
          end.autoResponseAt = new Date();
          return;
        }
        events.message(data);
      },
      close: (code, reason, wasClean) => events.close(code, reason, wasClean),
      error: (error) => events.error(error),
    };
    endsOfRecords.set(record, end);
    this.#objects.set(record, ws);
    end.acceptForActor(receiver, checked);
    this.#accepted.add(end);
  }

  /** The object this instance uses for a socket record (made on first use after a wake). */
  objectOf(record: SocketRecord): WorkersWebSocket | undefined {
    const end = endsOfRecords.get(record);
    if (!end) return undefined;
    let object = this.#objects.get(record);
    if (!object) {
      object = socketOver(end);
      this.#objects.set(record, object);
    }
    return object;
  }

  /**
   * As the Workers runtime lists them: all of them newest first (it adds each at the front), those with
   * `tag` oldest first. The tag is converted to a string as `acceptWebSocket` converts tags (`42` finds
   * the sockets tagged `"42"`, `null` those tagged `"null"`).
   */
  list(tag?: unknown): WorkersWebSocket[] {
    const wanted = tag === undefined ? undefined : tagString(tag, "getWebSockets()");
    const sockets: WorkersWebSocket[] = [];
    for (const record of this.#runtime.sockets()) {
      if (wanted !== undefined && !record.tags.includes(wanted)) continue;
      const object = this.objectOf(record);
      if (object) sockets.push(object);
    }
    return wanted === undefined ? sockets.reverse() : sockets;
  }

  tagsOf(ws: WorkersWebSocket): string[] {
    const end = endOf(ws);
    if (!end.accepted) throw new Error("you must call 'acceptWebSocket()' before attempting to access the tags of a WebSocket.");
    if (!end.hibernatable) throw new Error("only hibernatable websockets can have tags.");
    return [...end.tags];
  }

  setAutoResponse(pair?: WebSocketRequestResponsePair): void {
    if (pair === undefined || pair === null) {
      this.#settings.autoResponse = undefined;
      return;
    }
    if (!(pair instanceof WebSocketRequestResponsePair)) {
      throw new TypeError("setWebSocketAutoResponse() takes a WebSocketRequestResponsePair, or nothing to remove it");
    }
    for (const [what, text] of [["Request", pair.request], ["Response", pair.response]] as const) {
      const bytes = Buffer.byteLength(text);
      if (bytes > MAX_AUTO_RESPONSE_BYTES) {
        throw new RangeError(`${what} cannot be larger than ${MAX_AUTO_RESPONSE_BYTES} bytes. A ${what.toLowerCase()} of size ${bytes} was provided.`);
      }
    }
    this.#settings.autoResponse = pair;
  }

  autoResponse(): WebSocketRequestResponsePair | null {
    return this.#settings.autoResponse ?? null;
  }

  autoResponseTimestamp(ws: WorkersWebSocket): Date | null {
    return endOf(ws).autoResponseAt;
  }

  /** Kept and reported back; 0 or nothing removes it. Hearth does not cut a slow handler short. */
  setEventTimeout(ms?: number): void {
    if (ms === undefined || ms === null || ms === 0) {
      this.#settings.eventTimeoutMs = undefined;
      return;
    }
    if (!Number.isFinite(ms) || ms < 0) throw new TypeError(`The hibernatable WebSocket event timeout must be a number of milliseconds, got ${ms}`);
    if (ms > MAX_EVENT_TIMEOUT_MS) throw new Error(`Event timeout should not exceed ${MAX_EVENT_TIMEOUT_MS} ms.`);
    this.#settings.eventTimeoutMs = ms;
  }

  eventTimeout(): number | null {
    return this.#settings.eventTimeoutMs ?? null;
  }
}

/**
 * Distinct tags, checked as the Workers runtime does: each converted to a string (`42` is `"42"`; a
 * symbol is a TypeError), at most 256 bytes of UTF-8 each, the count of distinct tags at most 10
 * (empty ones are fine).
 */
function checkTags(tags: unknown): string[] {
  if (!Array.isArray(tags)) throw new TypeError("acceptWebSocket(): tags must be an array of strings");
  const distinct = new Set<string>();
  for (const value of tags as unknown[]) {
    const tag = tagString(value, "acceptWebSocket()");
    if (distinct.size >= MAX_TAGS) throw new Error(`a Hibernatable WebSocket cannot have more than ${MAX_TAGS} tags`);
    if (Buffer.byteLength(tag) > MAX_TAG_BYTES) throw new Error(`"${tag}" is longer than the max tag length (${MAX_TAG_BYTES} characters).`);
    distinct.add(tag);
  }
  return [...distinct];
}

/** A tag as the Workers runtime takes it: any value converted to a string, except a Symbol (TypeError naming `method`). */
function tagString(value: unknown, method: string): string {
  if (typeof value === "symbol") throw new TypeError(`${method}: a tag cannot be a Symbol`);
  return String(value);
}

/** What the host calls on an accepted socket: shut-down and destroy close it. */
function rawSocket(end: SocketEnd): RawSocket {
  return {
    get readyState() {
      return end.readyState;
    },
    send: (data) => end.send(data),
    close: (code, reason) => end.close(code, reason),
  };
}
