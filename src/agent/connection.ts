import { LIMITS } from "../limits.ts";
import { checkCloseArguments } from "../websocket/close-reason.ts";

/** What the host keeps per open WebSocket. It outlives agent instances: hibernation keeps it. */
export interface SocketRecord {
  readonly id: string;
  readonly socket: RawSocket;
  /** The URL the client connected to. */
  readonly url: string;
  tags: readonly string[];
  /** JSON text of conn.state, or undefined. Kept as text so it is copied, bounded and survives wake. */
  stateJson: string | undefined;
  readonly: boolean;
  protocol: boolean;
  /** Set once the agent's onConnect ran; messages wait for it. */
  connected: boolean;
  /**
   * Set while a new socket waits for its connect (its tags are not known yet): it is not among the
   * agent's connections until then, as on Cloudflare, where the socket is accepted only at its connect.
   */
  accepting?: boolean;
  /** When the host registered the socket (epoch ms; set by the socket hub). */
  connectedAt?: number;
}

/** The slice of a `ws` WebSocket the runtime uses. */
export interface RawSocket {
  readonly readyState: number;
  send(data: string | ArrayBuffer | ArrayBufferView): void;
  close(code?: number, reason?: string): void;
}

const OPEN = 1;

/**
 * Connection state or null. A conditional type on purpose: it makes TypeScript compare connections
 * structurally, so a hook override may take `Connection<MyState>` where the base takes `Connection`.
 */
export type ConnectionState<State> = [State] extends [never] ? null : State | null;

/** Method-signature form: compared bivariantly, unlike a function-typed property. */
type StateSetter<State> = {
  set(next: ConnectionState<State> | ((previous: ConnectionState<State>) => ConnectionState<State>)): ConnectionState<State>;
}["set"];

/**
 * One client's WebSocket as an agent sees it.
 * @example
 * onConnect(conn: Connection<{ user: string }>) {
 *   conn.setState({ user: "ada" });
 *   conn.send(JSON.stringify({ hello: conn.state?.user }));
 * }
 */
export class Connection<State = unknown> {
  readonly #record: SocketRecord;
  readonly #output: (send: () => void) => void;
  readonly #server: string;
  // Typed loosely so Connection<Specific> stays assignable to Connection<unknown> in hook overrides.
  #stateCache: { value: unknown } | undefined;

  /** @internal Created by the runtime. */
  constructor(record: SocketRecord, output: (send: () => void) => void, server: string) {
    this.#record = record;
    this.#output = output;
    this.#server = server;
  }

  /** The instance name of the agent this connection belongs to (`this.name` there). */
  get server(): string {
    return this.#server;
  }

  /** Stable id: the client's `_pk` query parameter, or a generated UUID. */
  get id(): string {
    return this.#record.id;
  }

  /** The URL the client connected with. */
  get uri(): string {
    return this.#record.url;
  }

  /** Tags from getConnectionTags; the id is always first. */
  get tags(): readonly string[] {
    return this.#record.tags;
  }

  get readonly(): boolean {
    return this.#record.readonly;
  }

  /** Per-connection state, kept while the socket is open, across hibernation. */
  get state(): ConnectionState<State> {
    if (this.#stateCache === undefined) {
      const json = this.#record.stateJson;
      this.#stateCache = { value: json === undefined ? null : JSON.parse(json) };
    }
    return this.#stateCache.value as ConnectionState<State>;
  }

  /**
   * Replaces the connection state (JSON, at most 16 KiB). Accepts a function of the previous state.
   * A property with a method-signature type, so hooks may narrow `Connection<MyState>` in overrides.
   */
  readonly setState: StateSetter<State> = (next) => {
    const value =
      typeof next === "function" ? (next as (previous: ConnectionState<State>) => ConnectionState<State>)(this.state) : next;
    const json = value === null || value === undefined ? undefined : JSON.stringify(value);
    if (json !== undefined && Buffer.byteLength(json) > LIMITS.maxConnectionStateBytes) {
      throw new RangeError(
        `Connection state is ${Buffer.byteLength(json)} bytes; the limit is ${LIMITS.maxConnectionStateBytes} (maxConnectionStateBytes). Keep large data in this.sql and store a key here.`,
      );
    }
    this.#record.stateJson = json;
    this.#stateCache = { value: json === undefined ? null : JSON.parse(json) };
    return this.#stateCache.value as ConnectionState<State>;
  };

  /**
   * Sends a message. It leaves once the storage writes made before it are committed (the output
   * gate), and is dropped if the event that made them fails.
   */
  send(message: string | ArrayBuffer | ArrayBufferView): void {
    const socket = this.#record.socket;
    this.#output(() => {
      if (socket.readyState === OPEN) socket.send(message);
    });
  }

  /**
   * Closes the connection once the event's writes are committed. Arguments a socket cannot send (a
   * code outside 1000–1003, 1007–1014, 3000–4999; a reason without a code or over 123 bytes of UTF-8)
   * throw here, as the Workers runtime's `close` does, instead of failing later where nobody sees it.
   */
  close(code?: number, reason?: string): void {
    checkCloseArguments(code, reason);
    const socket = this.#record.socket;
    this.#output(() => socket.close(code, reason));
  }

  /** @internal */
  get record(): SocketRecord {
    return this.#record;
  }
}
