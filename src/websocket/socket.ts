import { checkCloseArguments } from "./close-reason.ts";
import { NOT_ACCEPTED, READY_STATE, SocketEnd } from "./end.ts";
import { guardListener } from "./listeners.ts";


const ends = new WeakMap<object, SocketEnd>();
const INTERNAL: unique symbol = Symbol("hearth.websocket");

/** The end behind a Workers WebSocket object; TypeError for anything else (as a method called on the wrong object). */
export function endOf(socket: unknown): SocketEnd {
  const end = typeof socket === "object" && socket !== null ? ends.get(socket) : undefined;
  if (!end) throw new TypeError("Illegal invocation: not a WebSocket from a WebSocketPair or ctx.getWebSockets()");
  return end;
}

export function isWorkersWebSocket(value: unknown): value is WorkersWebSocket {
  return typeof value === "object" && value !== null && ends.has(value);
}

/**
 * The Workers runtime's server-side WebSocket: one end of a {@link WebSocketPair}, or a socket an actor
 * accepted (`ctx.getWebSockets()`). `accept()` delivers its traffic as events; an actor's
 * `ctx.acceptWebSocket(ws)` delivers it to `webSocketMessage` / `webSocketClose` instead, and the socket
 * stays open while the actor hibernates.
 * @example
 * const [client, server] = Object.values(new WebSocketPair());
 * server.accept();
 * server.addEventListener("message", (event) => server.send(`echo: ${event.data}`));
 * return new Response(null, { status: 101, webSocket: client });
 */
export class WorkersWebSocket extends EventTarget {
  static readonly READY_STATE_CONNECTING = READY_STATE.CONNECTING;
  static readonly READY_STATE_OPEN = READY_STATE.OPEN;
  static readonly READY_STATE_CLOSING = READY_STATE.CLOSING;
  static readonly READY_STATE_CLOSED = READY_STATE.CLOSED;
  static readonly CONNECTING = READY_STATE.CONNECTING;
  static readonly OPEN = READY_STATE.OPEN;
  static readonly CLOSING = READY_STATE.CLOSING;
  static readonly CLOSED = READY_STATE.CLOSED;
  readonly CONNECTING = READY_STATE.CONNECTING;
  readonly OPEN = READY_STATE.OPEN;
  readonly CLOSING = READY_STATE.CLOSING;
  readonly CLOSED = READY_STATE.CLOSED;
  /** Accepted for compatibility; messages are always strings or ArrayBuffers. */
  binaryType: "arraybuffer" | "blob" = "arraybuffer";

  /** @internal Made by WebSocketPair and the actor's socket list. */
  constructor(token: typeof INTERNAL, end: SocketEnd) {
    if (token !== INTERNAL) throw new TypeError("Illegal constructor: WebSocket objects come from new WebSocketPair()");
    super();
    ends.set(this, end);
  }

  /** Listeners as registered, and the guarded stand-ins actually added (see listeners.ts). */
  readonly #guarded = new WeakMap<object, EventListener>();

  override addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: AddEventListenerOptions | boolean): void {
    if (listener === null) return;
    let guarded = this.#guarded.get(listener);
    if (!guarded) this.#guarded.set(listener, (guarded = guardListener(listener)));
    super.addEventListener(type, guarded, options);
  }

  override removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: EventListenerOptions | boolean): void {
    if (listener === null) return;
    super.removeEventListener(type, this.#guarded.get(listener) ?? listener, options);
  }

  get readyState(): number {
    return endOf(this).readyState;
  }

  get url(): string | null {
    return endOf(this).url;
  }

  get protocol(): string {
    return endOf(this).protocol;
  }

  get extensions(): string {
    return "";
  }

  /** Starts delivering this socket's messages as events on this object. */
  accept(_options?: { allowHalfOpen?: boolean }): void {
    endOf(this).acceptWithEvents(this);
  }

  /** Sends a text message (a string), or a binary one (an ArrayBuffer or a view of one); any other value is sent as its string form, as the Workers runtime does. */
  send(message: string | ArrayBuffer | ArrayBufferView): void {
    endOf(this).send(message);
  }

  /**
   * Closes the socket. `code` is 1000–1003, 1007–1014 or 3000–4999 (Cloudflare also takes 1016–2999,
   * which RFC 6455 reserves: the network library refuses to send them, so Hearth refuses them here and
   * the socket stays open); a `reason` (at most 123 bytes of UTF-8) needs a code. A second close() does nothing.
   */
  close(code?: number, reason?: string): void {
    const end = endOf(this);
    if (!end.accepted) throw new TypeError(NOT_ACCEPTED);
    if (end.outgoingClosed) return; // checked first, as in the Workers runtime: closing twice is no error
    checkCloseArguments(code, reason);
    end.close(code, reason);
  }

  /** Keeps a structured-cloneable value with the socket (≤ 16 KiB serialized); it survives hibernation. */
  serializeAttachment(value: unknown): void {
    endOf(this).serializeAttachment(value);
  }

  /** The value last given to {@link serializeAttachment}, or null. */
  deserializeAttachment(): unknown {
    return endOf(this).deserializeAttachment();
  }
}

/** A new object over an existing end (an actor's view of its socket after it woke). */
export function socketOver(end: SocketEnd): WorkersWebSocket {
  return new WorkersWebSocket(INTERNAL, end);
}

/**
 * `new WebSocketPair()`: two connected WebSockets. Keep `server` (index 1), return `client` (index 0) in
 * a `101` response; the runtime connects it to the caller.
 * @example
 * const { 0: client, 1: server } = new WebSocketPair();
 */
export class WebSocketPair {
  readonly 0: WorkersWebSocket;
  readonly 1: WorkersWebSocket;

  constructor() {
    const client = new SocketEnd();
    const server = new SocketEnd();
    connect(client, server);
    connect(server, client);
    this[0] = socketOver(client);
    this[1] = socketOver(server);
  }
}

function connect(from: SocketEnd, to: SocketEnd): void {
  from.peer = to;
  from.link({
    send: (data) => to.receive(data),
    close: (code, reason) => {
      to.receiveClose(code ?? 1005, reason, true);
      from.receiveClose(code ?? 1005, reason, true);
    },
  });
}
