/**
 * When a connection stops reconnecting, and the error clients report then:
 * the Agents SDK's rule, so a server that refuses a client (close code 1008
 * or 4000–4999, such as an auth failure) is not hammered with reconnects.
 */

/** The part of a `CloseEvent` the rule reads (Node's `ws` events have these too). */
export interface CloseInfo {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
}

/**
 * The error a client reports when its connection closed and will not
 * reconnect on its own: `code`, `reason` and `wasClean` of the close. A
 * connection that never opened (the server refused the WebSocket upgrade,
 * or could not be reached) reports code 1006 (abnormal closure), an empty
 * reason and a message that says so, whatever close PartySocket made up.
 *
 * @example
 * ```ts
 * new AgentClient({ host, agent: "Chat", onConnectionError: (error) => showLogin(error.code) });
 * ```
 */
export class AgentConnectionError extends Error {
  override name = "AgentConnectionError";
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;

  /**
   * @param event The close that ended the connection.
   * @param opened Whether the connection had opened before it closed; `false`
   *   says so in the message (the server refused the WebSocket upgrade, as a
   *   hook answering with a Response does, or could not be reached).
   */
  constructor(event: CloseInfo, opened?: boolean) {
    // No close frame ever came from a socket that never opened: PartySocket's stand-in for it says
    // 1000 in Node and, copied in browsers, has the event type as its code and an Event as reason.
    const neverOpened = opened === false;
    const code = neverOpened || typeof event.code !== "number" ? 1006 : event.code;
    const reason = neverOpened || typeof event.reason !== "string" ? "" : event.reason;
    const why = neverOpened
      ? `WebSocket closed with code ${code} before it opened (the server refused the upgrade or could not be reached)`
      : reason || `WebSocket closed with code ${code}`;
    super(`Agent connection closed: ${why}`);
    this.code = code;
    this.reason = reason;
    this.wasClean = neverOpened ? false : event.wasClean;
  }
}

/**
 * Whether a close code means "do not come back": 1008 (policy violation) or
 * an application code from 4000 to 4999.
 *
 * @example
 * ```ts
 * isTerminalCloseEvent({ code: 4001, reason: "unauthorized", wasClean: true }); // true
 * isTerminalCloseEvent({ code: 1006, reason: "", wasClean: false });            // false
 * ```
 */
export function isTerminalCloseEvent(event: Pick<CloseInfo, "code">): boolean {
  return event.code === 1008 || (event.code >= 4000 && event.code <= 4999);
}

/** The reconnecting socket as the rule sees it (a `PartySocket`). */
interface ReconnectingSocket {
  readonly shouldReconnect: boolean;
  readonly retryCount: number;
}

/**
 * Decides, for `PartySocket`'s `shouldReconnectOnClose`, whether a closed
 * connection reconnects, and remembers whether that close ended the
 * connection for good, so the close listener can report it. It ends on a
 * terminal code, when the application's own `shouldReconnectOnClose` says
 * so, or when `maxRetries` attempts are spent; never on an explicit `close()`.
 *
 * @example
 * ```ts
 * const policy = new ClosePolicy(() => socket, () => options.shouldReconnectOnClose, () => options.maxRetries);
 * new PartySocket({ ...options, shouldReconnectOnClose: policy.decide });
 * socket.addEventListener("close", (event) => { if (policy.takeFinal()) report(new AgentConnectionError(event)); });
 * ```
 */
export class ClosePolicy {
  #final = false;

  private readonly socket: () => ReconnectingSocket | null | undefined;
  private readonly custom: () => ((event: CloseEvent) => boolean) | undefined;
  private readonly maxRetries: () => number | undefined;

  constructor(socket: () => ReconnectingSocket | null | undefined, custom: () => ((event: CloseEvent) => boolean) | undefined, maxRetries: () => number | undefined) {
    this.socket = socket;
    this.custom = custom;
    this.maxRetries = maxRetries;
  }

  /** `PartySocket` asks this before it schedules the next attempt, so `retryCount` still counts the one that closed. */
  readonly decide = (event: CloseEvent): boolean => {
    const reconnect = (this.custom()?.(event) ?? true) && !isTerminalCloseEvent(event);
    const socket = this.socket();
    if (socket?.shouldReconnect === false) this.#final = false;
    else if (!reconnect) this.#final = true;
    else this.#final = (socket?.retryCount ?? 0) >= (this.maxRetries() ?? Number.POSITIVE_INFINITY);
    return reconnect;
  };

  /** Whether the last close ended the connection for good; reading it clears it. */
  takeFinal(): boolean {
    const final = this.#final;
    this.#final = false;
    return final;
  }
}
