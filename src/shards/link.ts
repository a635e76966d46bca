import type { MessagePort, TransferListItem } from "node:worker_threads";
import type { MovedConnection } from "../gateway/connection-transfer.ts";
import type { WebSocket } from "ws";
import type { AgentCaller } from "../agent/context.ts";
import { isWebSocketUpgrade } from "../host/upgrade.ts";
import { errorFromWire, errorToWire } from "./error-wire.ts";
import { requestFromWire, requestToWire, responseFromWire, upgradeHead, withHeaders, type WireHandedRequest, type WireRequest, type WireResponseHead } from "./codec.ts";
import type { Call, LinkMessage, Upgrade } from "./messages.ts";
import { RelaySocket, type RelayOutlet } from "./relay-socket.ts";
import { edgeOfPair, edgeOfSocket, type EdgeEndpoint } from "./edge.ts";
import type { SendWindow } from "./send-window.ts";
import { sendResponse } from "./respond.ts";
import { Outbox } from "./outbox.ts";
import { closeReasonWithin } from "../websocket/close-reason.ts";
import type { LinkHandler, ResponseSink } from "./link-handler.ts";

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  /** Set for handed-over requests: where their response goes. */
  sink?: ResponseSink;
  /**
   * Set for requests: the body's stream, once the head arrived. Held weakly: a response its caller
   * drops unread is collected as on one thread, and the other shard is told to stop ({@link unread}).
   */
  body?: WeakRef<ReadableStreamDefaultController<Uint8Array>>;
  /** Bytes of the body queued in that stream and not yet acknowledged (they are once read). */
  queued?: number;
  /** The socket id reserved for an upgrade request. */
  socket?: number;
}

/**
 * One shard's end of the MessagePort to another: calls both ways (RPC, starts, HTTP requests with
 * streamed responses) and relayed WebSockets, sent through an {@link Outbox} (one postMessage per turn;
 * calls to one agent in the order they were made).
 */
export class ShardLink {
  readonly peer: number;
  readonly #port: MessagePort;
  readonly #handler: LinkHandler;
  readonly #pending = new Map<number, Pending>();
  /** Ids whose name was told the other shard lately (see {@link learnName}). */
  readonly #told = new Set<string>();
  /**
   * Response bodies from the other shard, by call id: one collected while still pending was dropped
   * unread by its caller, and the other shard, which holds its stream until it is read, is told to
   * stop (a thread of its own lets go of such a body the same way, by collecting it).
   */
  readonly #unread = new FinalizationRegistry<number>((id) => {
    if (this.#pending.get(id)?.body?.deref() === undefined) this.#cancel(id);
  });
  /** Response bodies this shard is sending, by call id. */
  readonly #windows = new Map<number, SendWindow>();
  /** Responses this side is streaming to the other: aborted when the caller cancels. */
  readonly #serving = new Map<number, AbortController>();
  /** Sockets whose client is on this shard (this side is the edge). */
  readonly #edges = new Map<number, EdgeEndpoint>();
  /** Sockets of this shard's agents whose client is on the other shard. */
  readonly #relays = new Map<number, RelaySocket>();
  /** Sinks that got part of a response from the message being read: flushed after it. */
  readonly #touched = new Set<ResponseSink>();
  #nextId = 1;
  #moved = 0;
  readonly #outbox: Outbox;
  #closed: Error | undefined;

  constructor(port: MessagePort, peer: number, handler: LinkHandler) {
    this.peer = peer;
    this.#port = port;
    this.#handler = handler;
    this.#outbox = new Outbox(port, (message, error) => {
      if (message.t === "call") this.#receive({ t: "fail", id: message.id, error: errorToWire(error) });
      else if ("id" in message) port.postMessage([{ t: "fail", id: message.id, error: errorToWire(error) }]);
    });
    port.on("message", (batch: LinkMessage[]) => {
      for (const message of batch) this.#receive(message);
      for (const sink of this.#touched) sink.flush();
      this.#touched.clear();
    });
    port.on("close", () => this.fail(new Error(`Shard ${peer} is gone`)));
  }

  invoke(className: string, name: string, method: string, args: unknown[], caller?: AgentCaller): Promise<unknown> {
    return this.#call({ op: "invoke", className, name, method, args, ...(caller ? { caller } : {}) });
  }

  async start(className: string, name: string, props?: Record<string, unknown>): Promise<void> {
    await this.#call({ op: "start", className, name, ...(props ? { props } : {}) });
  }

  /**
   * Tells the other shard the name an id was made from; sent ahead of the calls that follow (the link
   * keeps their order), once per id while it is among the last TOLD_NAMES told.
   */
  learnName(className: string, name: string, idName: string): void {
    const key = `${className}\0${name}`;
    if (this.#told.has(key)) return;
    if (this.#told.size >= TOLD_NAMES) this.#told.delete(this.#told.values().next().value!);
    this.#told.add(key);
    this.#call({ op: "name", className, name, idName }).catch(() => {}); // a hint: a closed link fails the calls that follow it anyway
  }

  /** The other shard's metrics text. */
  metrics(): Promise<string> {
    return this.#call({ op: "metrics" }) as Promise<string>;
  }

  /** Calls `method` of the service `kind`/`name` the other shard holds. */
  service(kind: string, name: string, method: string, args: unknown[]): Promise<unknown> {
    return this.#call({ op: "service", kind, name, method, args });
  }

  /**
   * Moves a client connection to the other shard's server, now and on its own (the handle goes in the
   * transfer list). Throws when the link is closed or the handle cannot be moved: the caller keeps it.
   */
  moveConnection(moved: MovedConnection): void {
    if (this.#closed) throw this.#closed;
    this.#port.postMessage([{ t: "connection", moved }] satisfies LinkMessage[], [moved.handle as TransferListItem]);
    this.#moved++;
  }

  /** Client connections moved to the other shard so far ({@link moveConnection}). */
  get movedConnections(): number {
    return this.#moved;
  }

  /** WebSockets relayed over this link now, whichever side holds their client. */
  get relayedSockets(): number {
    return this.#edges.size + this.#relays.size;
  }

  /** A stub's fetch, in its place among the calls to the object; an upgrade it accepts (a WebSocketPair) comes back relayed. */
  request(className: string, name: string, request: Request): Promise<Response> {
    const socket = isWebSocketUpgrade(request) ? this.#nextId++ : undefined;
    const call = requestToWire(request).then((wire): Call => ({ op: "request", className, name, request: wire, ...(socket !== undefined ? { socket } : {}) }));
    return this.#call(call, socket === undefined ? request.signal : undefined, socket, lineOf(className, name)) as Promise<Response>;
  }

  /** Has the other shard's worker fetch answer `request`; an accepted upgrade comes back as a 101 with a relayed WebSocket. */
  async fetch(request: Request, upgrade: boolean, headers?: ReadonlyArray<[string, string]>): Promise<Response> {
    const wire = withHeaders(await requestToWire(request), headers);
    const socket = upgrade ? this.#nextId++ : undefined;
    return this.#call({ op: "fetch", request: wire, ...(socket !== undefined ? { socket } : {}) }, upgrade ? undefined : request.signal, socket) as Promise<Response>;
  }

  /**
   * Has the other shard answer a request this shard's server received; the response goes to `sink`.
   * Returns what cancels it (the client went away).
   */
  http(request: WireHandedRequest, sink: ResponseSink): () => void {
    if (this.#closed) {
      sink.fail(this.#closed);
      sink.flush();
      return () => {};
    }
    const id = this.#nextId++;
    this.#pending.set(id, { resolve: () => {}, reject: () => {}, sink });
    this.#send({ t: "call", id, op: "http", request });
    return () => this.#cancel(id);
  }

  /** Hands a client socket of this shard to an agent of the other: its frames are relayed both ways. */
  openSocket(className: string, name: string, ws: WebSocket, request: Request): void {
    const sid = this.#nextId++;
    this.#edges.set(sid, edgeOfSocket(ws, this.#edgeOutlet(sid)));
    void requestToWire(request).then(
      (wire) => this.#send({ t: "open", sid, className, name, request: wire }),
      () => ws.close(1011, "The upgrade request could not be handed to the agent's thread"),
    );
  }

  /** The other shard is gone: pending calls fail, relayed sockets close. */
  fail(reason: Error): void {
    if (this.#closed) return;
    this.#closed = reason;
    for (const pending of this.#pending.values()) {
      pending.reject(reason);
      pending.body?.deref()?.error(reason);
      pending.sink?.fail(reason);
      pending.sink?.flush();
    }
    this.#pending.clear();
    for (const edge of this.#edges.values()) edge.close(1012, "The agent's thread stopped");
    this.#edges.clear();
    for (const relay of this.#relays.values()) relay.receiveClose(1006, "");
    this.#relays.clear();
    for (const window of this.#windows.values()) window.release();
    this.#outbox.close();
  }

  close(): void {
    this.fail(new Error("The link is closed"));
    this.#port.close();
  }

  /** Makes `call` (a request's may wait for its body) and waits for the answer; with a `line` (its agent), after the calls made before it there. */
  #call(call: Call | Promise<Call>, signal?: AbortSignal, socket?: number, line?: string): Promise<unknown> {
    if (this.#closed || signal?.aborted) {
      if (call instanceof Promise) call.catch(() => {}); // its request is never sent
      return Promise.reject(this.#closed ?? signal!.reason); // an aborted call, as fetch: nothing is sent
    }
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, ...(socket !== undefined ? { socket } : {}) });
      if (call instanceof Promise) {
        const message = call.then((ready): LinkMessage => ({ t: "call", id, ...ready }));
        message.catch((error: unknown) => this.#settle(id, true)?.reject(error));
        this.#outbox.inLine(line ?? "", id, message);
      } else if ("className" in call) this.#outbox.inLine(lineOf(call.className, call.name), id, { t: "call", id, ...call });
      else this.#send({ t: "call", id, ...call });
      signal?.addEventListener("abort", () => this.#cancel(id, signal.reason), { once: true });
    });
  }

  /** Ends the call `id` for its caller (with `reason`, as fetch ends an aborted request) and tells the other shard. */
  #cancel(id: number, reason: unknown = new DOMException("This operation was aborted", "AbortError")): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    pending.reject(reason);
    pending.body?.deref()?.error(reason);
    if (pending.sink) this.#touched.delete(pending.sink);
    if (!this.#outbox.withdraw(id)) this.#send({ t: "cancel", id }); // a call that never left needs no cancel
  }

  /** Acknowledges `bytes` of response `id`; acks of one response in the same turn share a message. */
  #ack(id: number, bytes: number): void {
    if (this.#closed || !this.#pending.has(id)) return;
    const last = this.#outbox.last();
    if (last?.t === "ack" && last.id === id) last.bytes += bytes;
    else this.#send({ t: "ack", id, bytes });
  }

  #send(message: LinkMessage): void {
    this.#outbox.send(message);
  }

  #receive(message: LinkMessage): void {
    switch (message.t) {
      case "call":
        return this.#serve(message);
      case "ok":
        return this.#settle(message.id)?.resolve(message.value);
      case "fail": {
        const pending = this.#settle(message.id, true);
        const error = errorFromWire(message.error);
        pending?.reject(error);
        pending?.body?.deref()?.error(error);
        if (pending?.sink) this.#touch(pending.sink).fail(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      case "head": {
        const sink = this.#pending.get(message.id)?.sink;
        if (sink) return this.#touch(sink).head(message.head);
        return this.#head(message.id, message.head, message.upgrade);
      }
      case "chunk": {
        const pending = this.#pending.get(message.id);
        const bytes = message.data.byteLength;
        if (pending?.sink) this.#touch(pending.sink).chunk(message.data, () => this.#ack(message.id, bytes));
        else if (pending?.body) {
          pending.body.deref()?.enqueue(message.data);
          pending.queued = (pending.queued ?? 0) + bytes;
        }
        return;
      }
      case "ack": {
        this.#windows.get(message.id)?.acknowledged(message.bytes);
        return;
      }
      case "end": {
        const pending = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        pending?.body?.deref()?.close();
        if (pending?.sink) this.#touch(pending.sink).end();
        return;
      }
      case "cancel":
        this.#serving.get(message.id)?.abort();
        this.#serving.delete(message.id);
        this.#windows.get(message.id)?.release();
        return;
      case "open":
        return this.#open(message.sid, message.className, message.name, message.request);
      case "connection":
        return this.#handler.connection(message.moved);
      case "frames": {
        if (message.toOwner) {
          const relay = this.#relays.get(message.sid);
          if (relay) for (const data of message.data) relay.receive(data);
        } else {
          const edge = this.#edges.get(message.sid);
          if (edge) for (const data of message.data) edge.deliver(data);
        }
        return;
      }
      case "close": {
        if (message.toOwner) {
          this.#relays.get(message.sid)?.receiveClose(message.code, message.reason);
          this.#relays.delete(message.sid);
        } else {
          this.#edges.get(message.sid)?.close(message.code, message.reason);
        }
        return;
      }
    }
  }

  #touch(sink: ResponseSink): ResponseSink {
    this.#touched.add(sink);
    return sink;
  }

  /** The pending call `id`, removed unless its body is still streaming. */
  #settle(id: number, always = false): Pending | undefined {
    const pending = this.#pending.get(id);
    if (pending && (always || !pending.body)) this.#pending.delete(id);
    return pending;
  }

  #head(id: number, head: WireResponseHead, upgrade: Upgrade | undefined): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    if (upgrade === "relay" && pending.socket !== undefined) {
      this.#pending.delete(id);
      const { response, edge } = edgeOfPair(this.#edgeOutlet(pending.socket), head.headers);
      this.#edges.set(pending.socket, edge);
      pending.resolve(response);
      return;
    }
    let body: ReadableStreamDefaultController<Uint8Array> | undefined;
    const stream = new ReadableStream<Uint8Array>({
      start: (controller) => void (body = controller),
      // The reader took what was queued: the other shard may send as much again.
      pull: () => {
        if (pending.queued) this.#ack(id, pending.queued);
        pending.queued = 0;
      },
      cancel: () => this.#cancel(id),
    });
    pending.body = new WeakRef(body!);
    this.#unread.register(stream, id);
    pending.resolve(responseFromWire(head, stream));
    // Settled: its resolving functions (which keep the promise, and so the response) are let go of
    // (for a function that closes over nothing here: this scope holds the stream).
    pending.resolve = pending.reject = settled;
  }

  #edgeOutlet(sid: number): RelayOutlet {
    return {
      frames: (data) => this.#sendFrame(sid, true, data),
      close: (code, reason) => {
        this.#edges.delete(sid);
        this.#send({ t: "close", sid, toOwner: true, code, reason });
      },
    };
  }

  #ownerOutlet(sid: number): RelayOutlet {
    return {
      frames: (data) => this.#sendFrame(sid, false, data),
      close: (code, reason) => this.#send({ t: "close", sid, toOwner: false, code, reason }),
    };
  }

  /** Frames of one socket sent one after another share a message. */
  #sendFrame(sid: number, toOwner: boolean, data: string | ArrayBuffer): void {
    const last = this.#outbox.last();
    if (last?.t === "frames" && last.sid === sid && last.toOwner === toOwner) last.data.push(data);
    else this.#send({ t: "frames", sid, toOwner, data: [data] });
  }

  #open(sid: number, className: string, name: string, wire: WireRequest): void {
    const relay = new RelaySocket(this.#ownerOutlet(sid));
    this.#relays.set(sid, relay);
    try {
      this.#handler.acceptSocket(className, name, relay, requestFromWire(wire));
    } catch (error) {
      relay.close(1011, closeReasonWithin(String((error as Error).message ?? error)));
    }
  }

  #serve(message: LinkMessage & { t: "call" }): void {
    const { id } = message;
    const answer = (promise: Promise<unknown>): void =>
      void promise.then(
        (value) => this.#send({ t: "ok", id, value }),
        (error: unknown) => this.#send({ t: "fail", id, error: errorToWire(error) }),
      );
    switch (message.op) {
      case "invoke":
        return answer(this.#handler.invoke(message.className, message.name, message.method, message.args, message.caller));
      case "start":
        return answer(this.#handler.start(message.className, message.name, message.props));
      case "name":
        return answer(this.#handler.learnName(message.className, message.name, message.idName));
      case "metrics":
        return answer(this.#handler.metrics());
      case "service":
        return answer(this.#handler.service(message.kind, message.name, message.method, message.args));
      case "http": {
        const abort = new AbortController();
        this.#serving.set(id, abort);
        void this.#handler.http(message.request, abort.signal).then(
          (response) => this.#respond(id, response, undefined, abort),
          (error: unknown) => {
            this.#serving.delete(id);
            this.#send({ t: "fail", id, error: errorToWire(error) });
          },
        );
        return;
      }
      case "request":
      case "fetch": {
        const abort = new AbortController();
        this.#serving.set(id, abort);
        const request = requestFromWire(message.request, abort.signal);
        const response = message.op === "request" ? this.#handler.request(message.className, message.name, request) : this.#handler.fetch(request);
        void response.then(
          (response) => this.#respond(id, response, message.socket, abort),
          (error: unknown) => {
            this.#serving.delete(id);
            this.#send({ t: "fail", id, error: errorToWire(error) });
          },
        );
        return;
      }
    }
  }

  /**
   * Sends `response` back ({@link sendResponse}). `abort` is the call's own controller, kept by the
   * caller: the client may have gone (a `cancel`) before the response was ready, and then its body is
   * cancelled and nothing is sent — an endless stream would otherwise be read for nobody.
   */
  async #respond(id: number, response: Response, socket: number | undefined, abort: AbortController): Promise<void> {
    if (socket !== undefined && this.#handler.isUpgrade(response)) {
      this.#serving.delete(id);
      const relay = new RelaySocket(this.#ownerOutlet(socket));
      this.#relays.set(socket, relay);
      // The head goes first, so the edge has its end of the socket before any frame arrives. Its headers
      // (the worker's, on a copy of an agent's 101 too) answer the client's handshake there.
      this.#send({ t: "head", id, head: upgradeHead(response), upgrade: "relay" });
      try {
        this.#handler.acceptUpgrade(response, relay);
      } catch (error) {
        relay.close(1011, closeReasonWithin(String((error as Error).message ?? error)));
      }
      return;
    }
    await sendResponse(id, response, abort.signal, { send: (message) => this.#send(message), closed: () => this.#closed !== undefined, windows: this.#windows });
    this.#serving.delete(id);
  }
}

/** The line of calls to one agent: they leave in the order they were made. */
function lineOf(className: string, name: string): string {
  return `${className}/${name}`;
}

/** Ids whose names a link remembers having told (the other shard keeps up to 100,000, and an object stores its name in its file when it starts). */
const TOLD_NAMES = 10_000;

/** What a settled call's resolving functions become. */
function settled(): void {}
