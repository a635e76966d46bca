// Built by examples/support-team/build-client.ts from hearth/client. Do not edit.
/* eslint-disable */
// node_modules/partysocket/dist/ws.js
if (!globalThis.EventTarget || !globalThis.Event)
  console.error(`
  PartySocket requires a global 'EventTarget' class to be available!
  You can polyfill this global by adding this to your code before any partysocket imports: 
  
  \`\`\`
  import 'partysocket/event-target-polyfill';
  \`\`\`
  Please file an issue at https://github.com/partykit/partykit if you're still having trouble.
`);
var ErrorEvent = class extends Event {
  message;
  error;
  constructor(error, target) {
    super("error", target);
    this.message = error.message;
    this.error = error;
  }
};
var CloseEvent = class extends Event {
  code;
  reason;
  wasClean = true;
  constructor(code = 1e3, reason = "", target) {
    super("close", target);
    this.code = code;
    this.reason = reason;
  }
};
var Events = {
  Event,
  ErrorEvent,
  CloseEvent
};
function assert(condition, msg) {
  if (!condition) throw new Error(msg);
}
function cloneEventBrowser(e) {
  return new e.constructor(e.type, e);
}
function cloneEventNode(e) {
  if ("data" in e) return new MessageEvent(e.type, e);
  if ("code" in e || "reason" in e)
    return new CloseEvent(e.code || 1999, e.reason || "unknown reason", e);
  if ("error" in e) return new ErrorEvent(e.error, e);
  return new Event(e.type, e);
}
var isNode = typeof process !== "undefined" && typeof process.versions?.node !== "undefined";
var isReactNative = typeof navigator !== "undefined" && navigator.product === "ReactNative";
var cloneEvent = isNode || isReactNative ? cloneEventNode : cloneEventBrowser;
var DEFAULT = {
  maxReconnectionDelay: 1e4,
  minReconnectionDelay: 3e3,
  minUptime: 5e3,
  reconnectionDelayGrowFactor: 1.3,
  connectionTimeout: 4e3,
  maxRetries: Number.POSITIVE_INFINITY,
  maxEnqueuedMessages: Number.POSITIVE_INFINITY,
  startClosed: false,
  debug: false
};
var didWarnAboutMissingWebSocket = false;
function absorbError() {
}
var ReconnectingWebSocket = class ReconnectingWebSocket2 extends EventTarget {
  _ws;
  _retryCount = -1;
  _uptimeTimeout;
  _connectTimeout;
  _shouldReconnect = true;
  _connectLock = false;
  _binaryType = "blob";
  _closeCalled = false;
  _didWarnAboutClosedSend = false;
  _messageQueue = [];
  _debugLogger = console.log.bind(console);
  _url;
  _protocols;
  _options;
  constructor(url, protocols, options = {}) {
    super();
    this._url = url;
    this._protocols = protocols;
    this._options = options;
    if (this._options.startClosed) this._shouldReconnect = false;
    if (this._options.debugLogger)
      this._debugLogger = this._options.debugLogger;
    this._connect();
  }
  static get CONNECTING() {
    return 0;
  }
  static get OPEN() {
    return 1;
  }
  static get CLOSING() {
    return 2;
  }
  static get CLOSED() {
    return 3;
  }
  get CONNECTING() {
    return ReconnectingWebSocket2.CONNECTING;
  }
  get OPEN() {
    return ReconnectingWebSocket2.OPEN;
  }
  get CLOSING() {
    return ReconnectingWebSocket2.CLOSING;
  }
  get CLOSED() {
    return ReconnectingWebSocket2.CLOSED;
  }
  get binaryType() {
    return this._ws ? this._ws.binaryType : this._binaryType;
  }
  set binaryType(value) {
    this._binaryType = value;
    if (this._ws) this._ws.binaryType = value;
  }
  /**
   * Returns the number or connection retries
   */
  get retryCount() {
    return Math.max(this._retryCount, 0);
  }
  /**
   * The number of bytes of data that have been queued using calls to send() but not yet
   * transmitted to the network. This value resets to zero once all queued data has been sent.
   * This value does not reset to zero when the connection is closed; if you keep calling send(),
   * this will continue to climb. Read only
   */
  get bufferedAmount() {
    return this._messageQueue.reduce((acc, message) => {
      if (typeof message === "string") acc += message.length;
      else if (message instanceof Blob) acc += message.size;
      else acc += message.byteLength;
      return acc;
    }, 0) + (this._ws ? this._ws.bufferedAmount : 0);
  }
  /**
   * The extensions selected by the server. This is currently only the empty string or a list of
   * extensions as negotiated by the connection
   */
  get extensions() {
    return this._ws ? this._ws.extensions : "";
  }
  /**
   * A string indicating the name of the sub-protocol the server selected;
   * this will be one of the strings specified in the protocols parameter when creating the
   * WebSocket object
   */
  get protocol() {
    return this._ws ? this._ws.protocol : "";
  }
  /**
   * The current state of the connection; this is one of the Ready state constants
   */
  get readyState() {
    if (this._closeCalled) return ReconnectingWebSocket2.CLOSED;
    if (this._ws) return this._ws.readyState;
    return this._options.startClosed ? ReconnectingWebSocket2.CLOSED : ReconnectingWebSocket2.CONNECTING;
  }
  /**
   * The URL as resolved by the constructor
   */
  get url() {
    return this._ws ? this._ws.url : "";
  }
  /**
   * Whether the websocket object is now in reconnectable state
   */
  get shouldReconnect() {
    return this._shouldReconnect;
  }
  /**
   * An event listener to be called when the WebSocket connection's readyState changes to CLOSED
   */
  onclose = null;
  /**
   * An event listener to be called when an error occurs
   */
  onerror = null;
  /**
   * An event listener to be called when a message is received from the server
   */
  onmessage = null;
  /**
   * An event listener to be called when the WebSocket connection's readyState changes to OPEN;
   * this indicates that the connection is ready to send and receive data
   */
  onopen = null;
  /**
   * Closes the WebSocket connection or connection attempt, if any. If the connection is already
   * CLOSED or CLOSING, this method does nothing.
   *
   * The `close` event is dispatched synchronously (mirroring how
   * `reconnect()` dispatches its synthetic close). This guarantees
   * consumers observe a terminal event for every explicit close, even
   * if their listeners are detached right after this call — previously
   * the real (asynchronous) browser close event could fire after
   * listeners were removed and go unobserved entirely.
   */
  close(code = 1e3, reason) {
    this._closeCalled = true;
    this._shouldReconnect = false;
    this._clearTimeouts();
    if (!this._ws) {
      this._debug("close enqueued: no ws instance");
      return;
    }
    if (this._ws.readyState === this.CLOSED || this._ws.readyState === this.CLOSING) {
      this._debug("close: already closing or closed");
      return;
    }
    this._disconnect(code, reason);
  }
  /**
   * Closes the WebSocket connection or connection attempt and connects again.
   * Resets retry counter;
   */
  reconnect(code, reason) {
    this._shouldReconnect = true;
    this._closeCalled = false;
    this._didWarnAboutClosedSend = false;
    this._retryCount = -1;
    if (!this._ws || this._ws.readyState === this.CLOSED || this._ws.readyState === this.CLOSING)
      this._connect();
    else {
      this._disconnect(code, reason);
      this._connect();
    }
  }
  /**
   * Enqueue specified data to be transmitted to the server over the WebSocket connection.
   *
   * @returns `true` if the message was transmitted immediately over an open
   * connection; `false` if it was buffered (sent when the connection next
   * opens — the buffer is always flushed before the `open` event is
   * dispatched) or dropped because `maxEnqueuedMessages` was reached.
   */
  send(data) {
    if (this._ws && this._ws.readyState === this.OPEN) {
      this._debug("send", data);
      this._ws.send(data);
      return true;
    }
    if (this._closeCalled && !this._didWarnAboutClosedSend) {
      this._didWarnAboutClosedSend = true;
      console.warn(
        "ReconnectingWebSocket: send() was called after close(). The message has been buffered, but it will only be delivered if reconnect() is called on this socket. If this socket has been discarded, the message is lost \u2014 this usually means a stale socket reference is being used."
      );
    }
    const { maxEnqueuedMessages = DEFAULT.maxEnqueuedMessages } = this._options;
    if (this._messageQueue.length < maxEnqueuedMessages) {
      this._debug("enqueue", data);
      this._messageQueue.push(data);
    }
    return false;
  }
  /**
   * Removes and returns all messages that were passed to send() but never
   * transmitted (they were buffered while the connection wasn't open).
   *
   * Useful when a socket is being discarded and replaced (e.g. the React
   * hooks recreate the socket when connection options change): the
   * replacement socket can re-send these messages, instead of them being
   * silently lost with the old instance.
   */
  drainQueuedMessages() {
    const queue = this._messageQueue;
    this._messageQueue = [];
    return queue;
  }
  _debug(...args) {
    if (this._options.debug) this._debugLogger("RWS>", ...args);
  }
  _getNextDelay() {
    const {
      reconnectionDelayGrowFactor = DEFAULT.reconnectionDelayGrowFactor,
      minReconnectionDelay = DEFAULT.minReconnectionDelay,
      maxReconnectionDelay = DEFAULT.maxReconnectionDelay
    } = this._options;
    let delay = 0;
    if (this._retryCount > 0) {
      delay = minReconnectionDelay * reconnectionDelayGrowFactor ** (this._retryCount - 1);
      if (delay > maxReconnectionDelay) delay = maxReconnectionDelay;
    }
    this._debug("next delay", delay);
    return delay;
  }
  _wait() {
    return new Promise((resolve) => {
      setTimeout(resolve, this._getNextDelay());
    });
  }
  _getNextProtocols(protocolsProvider) {
    if (!protocolsProvider) return Promise.resolve(null);
    if (typeof protocolsProvider === "string" || Array.isArray(protocolsProvider))
      return Promise.resolve(protocolsProvider);
    if (typeof protocolsProvider === "function") {
      const protocols = protocolsProvider();
      if (!protocols) return Promise.resolve(null);
      if (typeof protocols === "string" || Array.isArray(protocols))
        return Promise.resolve(protocols);
      if (protocols.then) return protocols;
    }
    throw Error("Invalid protocols");
  }
  _getNextUrl(urlProvider) {
    if (typeof urlProvider === "string") return Promise.resolve(urlProvider);
    if (typeof urlProvider === "function") {
      const url = urlProvider();
      if (typeof url === "string") return Promise.resolve(url);
      if (url.then) return url;
    }
    throw Error("Invalid URL");
  }
  _connect() {
    if (this._connectLock || !this._shouldReconnect) return;
    this._connectLock = true;
    const {
      maxRetries = DEFAULT.maxRetries,
      connectionTimeout = DEFAULT.connectionTimeout
    } = this._options;
    if (this._retryCount >= maxRetries) {
      this._debug("max retries reached", this._retryCount, ">=", maxRetries);
      this._connectLock = false;
      return;
    }
    this._retryCount++;
    this._debug("connect", this._retryCount);
    this._removeListeners();
    this._wait().then(
      () => Promise.all([
        this._getNextUrl(this._url),
        this._getNextProtocols(this._protocols || null)
      ])
    ).then(([url, protocols]) => {
      if (this._closeCalled) {
        this._connectLock = false;
        return;
      }
      if (!this._options.WebSocket && typeof WebSocket === "undefined" && !didWarnAboutMissingWebSocket) {
        console.error(`\u203C\uFE0F No WebSocket implementation available. You should define options.WebSocket. 

For example, if you're using node.js, run \`npm install ws\`, and then in your code:

import PartySocket from 'partysocket';
import WS from 'ws';

const partysocket = new PartySocket({
  host: "127.0.0.1:1999",
  room: "test-room",
  WebSocket: WS
});

`);
        didWarnAboutMissingWebSocket = true;
      }
      const WS = this._options.WebSocket || WebSocket;
      this._debug("connect", {
        url,
        protocols
      });
      this._ws = protocols ? new WS(url, protocols) : new WS(url);
      this._ws.binaryType = this._binaryType;
      this._connectLock = false;
      this._addListeners();
      this._connectTimeout = setTimeout(
        () => this._handleTimeout(),
        connectionTimeout
      );
    }).catch((err) => {
      this._connectLock = false;
      this._handleError(new Events.ErrorEvent(Error(err.message), this));
    });
  }
  _handleTimeout() {
    this._debug("timeout event");
    this._handleError(new Events.ErrorEvent(Error("TIMEOUT"), this));
  }
  _disconnect(code = 1e3, reason) {
    this._clearTimeouts();
    if (!this._ws) return;
    this._removeListeners();
    try {
      if (this._ws.readyState === this.OPEN || this._ws.readyState === this.CONNECTING)
        this._ws.close(code, reason);
      this._handleClose(new Events.CloseEvent(code, reason, this));
    } catch (_error) {
    }
  }
  _acceptOpen() {
    this._debug("accept open");
    this._retryCount = 0;
  }
  _handleOpen = (event) => {
    this._debug("open event");
    const { minUptime = DEFAULT.minUptime } = this._options;
    clearTimeout(this._connectTimeout);
    this._uptimeTimeout = setTimeout(() => this._acceptOpen(), minUptime);
    assert(this._ws, "WebSocket is not defined");
    this._ws.binaryType = this._binaryType;
    this._messageQueue.forEach((message) => {
      this._ws?.send(message);
    });
    this._messageQueue = [];
    if (this.onopen) this.onopen(event);
    this.dispatchEvent(cloneEvent(event));
  };
  _handleMessage = (event) => {
    this._debug("message event");
    if (this.onmessage) this.onmessage(event);
    this.dispatchEvent(cloneEvent(event));
  };
  _handleError = (event) => {
    this._debug("error event", event.message);
    this._disconnect(void 0, event.message === "TIMEOUT" ? "timeout" : void 0);
    if (this.onerror) this.onerror(event);
    this._debug("exec error listeners");
    this.dispatchEvent(cloneEvent(event));
    this._connect();
  };
  _handleClose = (event) => {
    this._debug("close event");
    this._clearTimeouts();
    if (this._options.shouldReconnectOnClose && !this._options.shouldReconnectOnClose(event))
      this._shouldReconnect = false;
    if (this._shouldReconnect) this._connect();
    if (this.onclose) this.onclose(event);
    this.dispatchEvent(cloneEvent(event));
  };
  _removeListeners() {
    if (!this._ws) return;
    this._debug("removeListeners");
    this._ws.removeEventListener("open", this._handleOpen);
    this._ws.removeEventListener("close", this._handleClose);
    this._ws.removeEventListener("message", this._handleMessage);
    this._ws.removeEventListener("error", this._handleError);
    this._ws.addEventListener("error", absorbError);
  }
  _addListeners() {
    if (!this._ws) return;
    this._debug("addListeners");
    this._ws.addEventListener("open", this._handleOpen);
    this._ws.addEventListener("close", this._handleClose);
    this._ws.addEventListener("message", this._handleMessage);
    this._ws.addEventListener("error", this._handleError);
  }
  _clearTimeouts() {
    clearTimeout(this._connectTimeout);
    clearTimeout(this._uptimeTimeout);
  }
};

// node_modules/partysocket/dist/index.js
var valueIsNotNil = (keyValuePair) => keyValuePair[1] !== null && keyValuePair[1] !== void 0;
function generateUUID() {
  if (crypto?.randomUUID) return crypto.randomUUID();
  let d = Date.now();
  let d2 = performance?.now && performance.now() * 1e3 || 0;
  return "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".replace(/[xy]/g, function(c) {
    let r = Math.random() * 16;
    if (d > 0) {
      r = (d + r) % 16 | 0;
      d = Math.floor(d / 16);
    } else {
      r = (d2 + r) % 16 | 0;
      d2 = Math.floor(d2 / 16);
    }
    return (c === "x" ? r : r & 3 | 8).toString(16);
  });
}
function getPartyInfo(partySocketOptions2, defaultProtocol, defaultParams = {}) {
  const {
    host: rawHost,
    path: rawPath,
    protocol: rawProtocol,
    room,
    party,
    basePath,
    prefix,
    query
  } = partySocketOptions2;
  let host = rawHost.replace(/^(http|https|ws|wss):\/\//, "");
  if (host.endsWith("/")) host = host.slice(0, -1);
  if (rawPath?.startsWith("/"))
    throw new Error("path must not start with a slash");
  const name = party ?? "main";
  const path = rawPath ? `/${rawPath}` : "";
  const protocol = rawProtocol || (host.startsWith("localhost:") || host.startsWith("127.0.0.1:") || host.startsWith("192.168.") || host.startsWith("10.") || host.startsWith("172.") && host.split(".")[1] >= "16" && host.split(".")[1] <= "31" || host.startsWith("[::ffff:7f00:1]:") ? defaultProtocol : `${defaultProtocol}s`);
  const baseUrl = `${protocol}://${host}/${basePath || `${prefix || "parties"}/${name}/${room}`}${path}`;
  const makeUrl = (query2 = {}) => `${baseUrl}?${new URLSearchParams([...Object.entries(defaultParams), ...Object.entries(query2).filter(valueIsNotNil)])}`;
  const urlProvider = typeof query === "function" ? async () => makeUrl(await query()) : makeUrl(query);
  return {
    host,
    path,
    room,
    name,
    protocol,
    partyUrl: baseUrl,
    urlProvider
  };
}
var PartySocket = class extends ReconnectingWebSocket {
  _pk;
  _pkurl;
  name;
  room;
  host;
  path;
  basePath;
  constructor(partySocketOptions2) {
    const wsOptions = getWSOptions(partySocketOptions2);
    super(wsOptions.urlProvider, wsOptions.protocols, wsOptions.socketOptions);
    this.partySocketOptions = partySocketOptions2;
    this.setWSProperties(wsOptions);
    if (!partySocketOptions2.startClosed && !this.room && !this.basePath) {
      this.close();
      throw new Error(
        "Either room or basePath must be provided to connect. Use startClosed: true to create a socket and set them via updateProperties before calling reconnect()."
      );
    }
    if (!partySocketOptions2.disableNameValidation) {
      if (partySocketOptions2.party?.includes("/"))
        console.warn(
          `PartySocket: party name "${partySocketOptions2.party}" contains forward slash which may cause routing issues. Consider using a name without forward slashes or set disableNameValidation: true to bypass this warning.`
        );
      if (partySocketOptions2.room?.includes("/"))
        console.warn(
          `PartySocket: room name "${partySocketOptions2.room}" contains forward slash which may cause routing issues. Consider using a name without forward slashes or set disableNameValidation: true to bypass this warning.`
        );
    }
  }
  updateProperties(partySocketOptions2) {
    const wsOptions = getWSOptions({
      ...this.partySocketOptions,
      ...partySocketOptions2,
      host: partySocketOptions2.host ?? this.host,
      room: partySocketOptions2.room ?? this.room,
      path: partySocketOptions2.path ?? this.path,
      basePath: partySocketOptions2.basePath ?? this.basePath
    });
    this._url = wsOptions.urlProvider;
    this._protocols = wsOptions.protocols;
    this._options = wsOptions.socketOptions;
    this.setWSProperties(wsOptions);
  }
  setWSProperties(wsOptions) {
    const { _pk, _pkurl, name, room, host, path, basePath } = wsOptions;
    this._pk = _pk;
    this._pkurl = _pkurl;
    this.name = name;
    this.room = room;
    this.host = host;
    this.path = path;
    this.basePath = basePath;
  }
  reconnect(code, reason) {
    if (!this.host)
      throw new Error(
        "The host must be set before connecting, use `updateProperties` method to set it or pass it to the constructor."
      );
    if (!this.room && !this.basePath)
      throw new Error(
        "The room (or basePath) must be set before connecting, use `updateProperties` method to set it or pass it to the constructor."
      );
    super.reconnect(code, reason);
  }
  get id() {
    return this._pk;
  }
  /**
   * Exposes the static PartyKit room URL without applying query parameters.
   * To access the currently connected WebSocket url, use PartySocket#url.
   */
  get roomUrl() {
    return this._pkurl;
  }
  static async fetch(options, init) {
    const party = getPartyInfo(options, "http");
    const url = typeof party.urlProvider === "string" ? party.urlProvider : await party.urlProvider();
    return (options.fetch ?? fetch)(url, init);
  }
};
function getWSOptions(partySocketOptions2) {
  const {
    id,
    host: _host,
    path: _path,
    party: _party,
    room: _room,
    protocol: _protocol,
    query: _query,
    protocols,
    ...socketOptions
  } = partySocketOptions2;
  const _pk = id || generateUUID();
  const party = getPartyInfo(partySocketOptions2, "ws", { _pk });
  return {
    _pk,
    _pkurl: party.partyUrl,
    name: party.name,
    room: party.room,
    host: party.host,
    path: party.path,
    basePath: partySocketOptions2.basePath,
    protocols,
    socketOptions,
    urlProvider: party.urlProvider
  };
}

// src/client/connection-error.ts
var AgentConnectionError = class extends Error {
  name = "AgentConnectionError";
  code;
  reason;
  wasClean;
  /**
   * @param event The close that ended the connection.
   * @param opened Whether the connection had opened before it closed; `false`
   *   says so in the message (the server refused the WebSocket upgrade, as a
   *   hook answering with a Response does, or could not be reached).
   */
  constructor(event, opened) {
    const neverOpened = opened === false;
    const code = neverOpened || typeof event.code !== "number" ? 1006 : event.code;
    const reason = neverOpened || typeof event.reason !== "string" ? "" : event.reason;
    const why = neverOpened ? `WebSocket closed with code ${code} before it opened (the server refused the upgrade or could not be reached)` : reason || `WebSocket closed with code ${code}`;
    super(`Agent connection closed: ${why}`);
    this.code = code;
    this.reason = reason;
    this.wasClean = neverOpened ? false : event.wasClean;
  }
};
function isTerminalCloseEvent(event) {
  return event.code === 1008 || event.code >= 4e3 && event.code <= 4999;
}
var ClosePolicy = class {
  #final = false;
  socket;
  custom;
  maxRetries;
  constructor(socket, custom, maxRetries) {
    this.socket = socket;
    this.custom = custom;
    this.maxRetries = maxRetries;
  }
  /** `PartySocket` asks this before it schedules the next attempt, so `retryCount` still counts the one that closed. */
  decide = (event) => {
    const reconnect = (this.custom()?.(event) ?? true) && !isTerminalCloseEvent(event);
    const socket = this.socket();
    if (socket?.shouldReconnect === false) this.#final = false;
    else if (!reconnect) this.#final = true;
    else this.#final = (socket?.retryCount ?? 0) >= (this.maxRetries() ?? Number.POSITIVE_INFINITY);
    return reconnect;
  };
  /** Whether the last close ended the connection for good; reading it clears it. */
  takeFinal() {
    const final = this.#final;
    this.#final = false;
    return final;
  }
};

// src/client/frames.ts
function isRecord(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
function readJsonObject(data) {
  if (typeof data !== "string" || !data.startsWith("{")) return void 0;
  try {
    const value = JSON.parse(data);
    return isRecord(value) ? value : void 0;
  } catch {
    return void 0;
  }
}
function readClientFrame(data) {
  const value = readJsonObject(data);
  if (value === void 0) return void 0;
  switch (value.type) {
    case "cf_agent_identity":
      return typeof value.name === "string" && typeof value.agent === "string" ? value : void 0;
    case "cf_agent_state":
      return value;
    case "cf_agent_state_error":
      return { type: "cf_agent_state_error", error: String(value.error ?? "State update rejected") };
    case "cf_agent_mcp_servers":
      return isRecord(value.mcp) && isRecord(value.mcp.servers) ? value : void 0;
    case "rpc":
      return typeof value.id === "string" && typeof value.success === "boolean" ? value : void 0;
    default:
      return void 0;
  }
}
function stateFrame(state) {
  return JSON.stringify({ type: "cf_agent_state", state });
}

// src/client/handshake.ts
var Handshake = class {
  #stateSeen = false;
  #waiting = null;
  /** Records an identity frame; returns the identity when the connection is now ready. */
  identity(frame) {
    const identity = { name: frame.name, agent: frame.agent };
    if (frame.stateFollows === true && !this.#stateSeen) {
      this.#waiting = identity;
      return void 0;
    }
    return identity;
  }
  /** Records a state frame; returns an identity that was waiting for it, if any. */
  state() {
    this.#stateSeen = true;
    const waiting = this.#waiting;
    this.#waiting = null;
    return waiting ?? void 0;
  }
  /** Forgets the current connection's progress. */
  reset() {
    this.#stateSeen = false;
    this.#waiting = null;
  }
};

// src/client/identity-change.ts
var IdentityHistory = class {
  #previous = null;
  /** Records the identity a connection announced; reports a change from the previous one. */
  record(next, onChange) {
    const previous = this.#previous;
    this.#previous = { name: next.name, agent: next.agent };
    if (previous === null || previous.name === next.name && previous.agent === next.agent) return;
    if (onChange) return onChange(previous.name, next.name, previous.agent, next.agent);
    const changes = [
      previous.agent === next.agent ? null : `agent "${previous.agent}" \u2192 "${next.agent}"`,
      previous.name === next.name ? null : `instance "${previous.name}" \u2192 "${next.name}"`
    ].filter((change) => change !== null);
    console.warn(
      `[hearth/client] The connection reached another agent after reconnecting: ${changes.join(", ")}. This happens when the server chooses the instance (basePath routing by session); pass onIdentityChange to handle it.`
    );
  }
  /** Forgets the previous identity (the address changed, so a different instance is expected). */
  reset() {
    this.#previous = null;
  }
};

// src/protocol/kebab.ts
function camelCaseToKebabCase(name) {
  const upper = name.toUpperCase();
  if (name === upper && name !== name.toLowerCase()) {
    return name.toLowerCase().split("_").join("-");
  }
  let out = "";
  for (const ch of name) {
    const isAsciiCapital = ch >= "A" && ch <= "Z";
    out += isAsciiCapital ? `-${ch.toLowerCase()}` : ch;
  }
  if (out.startsWith("-")) out = out.slice(1);
  out = out.split("_").join("-");
  if (out.endsWith("-")) out = out.slice(0, -1);
  return out;
}

// src/client/id.ts
function randomId() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] ?? 0) & 15 | 64;
  bytes[8] = (bytes[8] ?? 0) & 63 | 128;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// src/client/outbox.ts
var HeldFrame = class {
  frame;
  size;
  constructor(frame) {
    this.frame = frame;
    this.size = frameSize(frame);
  }
};
function frameSize(frame) {
  if (typeof frame === "string") return frame.length;
  if (typeof Blob !== "undefined" && frame instanceof Blob) return frame.size;
  return frame.byteLength ?? 0;
}
var Outbox = class {
  #items = /* @__PURE__ */ new Set();
  #frameCount = 0;
  #frameBytes = 0;
  /** How many items (calls and frames) wait. */
  get size() {
    return this.#items.size;
  }
  /** How many held frames wait. */
  get frameCount() {
    return this.#frameCount;
  }
  /** The total size of the held frames, as {@link frameSize} counts it. */
  get frameBytes() {
    return this.#frameBytes;
  }
  /** Queues a call behind everything queued before it. */
  add(call) {
    this.#items.add(call);
  }
  /** Removes a call that will not be sent (it settled while it waited). */
  remove(call) {
    this.#items.delete(call);
  }
  /** Queues a frame behind everything queued before it. */
  hold(frame) {
    const held = new HeldFrame(frame);
    this.#items.add(held);
    this.#frameCount += 1;
    this.#frameBytes += held.size;
  }
  /** Empties the outbox and returns what it held, oldest first. */
  take() {
    const items = [...this.#items];
    this.#items = /* @__PURE__ */ new Set();
    this.#frameCount = 0;
    this.#frameBytes = 0;
    return items;
  }
  /** Removes and returns the held frames, oldest first; the calls stay queued in their order. */
  drainFrames() {
    const frames = [];
    for (const item of this.#items) {
      if (!(item instanceof HeldFrame)) continue;
      frames.push(item.frame);
      this.#items.delete(item);
    }
    this.#frameCount = 0;
    this.#frameBytes = 0;
    return frames;
  }
};

// src/client/pending-calls.ts
var DEFAULT_CALL_TIMEOUT_MS = 3e4;
var AgentCallError = class extends Error {
  name = "AgentCallError";
  /** The method that was called. */
  method;
  constructor(message, method) {
    super(message);
    this.method = method;
  }
};
function splitCallOptions(options) {
  if (options === void 0) return { stream: void 0, timeout: void 0 };
  if ("onChunk" in options || "onDone" in options || "onError" in options) {
    return { stream: options, timeout: void 0 };
  }
  const { stream, timeout } = options;
  return { stream, timeout };
}
function notify(callback) {
  try {
    callback();
  } catch (error) {
    console.error("[hearth] A stream callback of an RPC call threw:", error);
  }
}
var PendingCalls = class {
  #calls = /* @__PURE__ */ new Map();
  /** What waits for {@link PendingCalls.flush}, in the order it was made: unsent calls and held frames. */
  #outbox = new Outbox();
  /** How many calls are waiting. */
  get size() {
    return this.#calls.size;
  }
  /** Whether calls or held frames wait to be sent: a frame sent now would overtake them. */
  get queued() {
    return this.#outbox.size > 0;
  }
  /** How many frames {@link PendingCalls.hold} holds, not sent yet. */
  get heldFrameCount() {
    return this.#outbox.frameCount;
  }
  /** The total size of the held frames: bytes, or UTF-16 code units for text, as `bufferedAmount` counts them. */
  get heldFrameBytes() {
    return this.#outbox.frameBytes;
  }
  /**
   * Holds a frame that is not a call until {@link PendingCalls.flush}, which
   * sends it after the calls and frames that were queued before it.
   */
  hold(frame) {
    this.#outbox.hold(frame);
  }
  /** Removes and returns the held frames, oldest first (the waiting calls stay queued). */
  drainFrames() {
    return this.#outbox.drainFrames();
  }
  /**
   * Registers a call and hands its request frame to `transmit`, which sends
   * it and returns the socket it went out on, or `null` when it could not be
   * sent yet (then {@link PendingCalls.flush} sends it once a socket opens).
   * Calls without stream callbacks time out after `defaultTimeout`
   * ({@link DEFAULT_CALL_TIMEOUT_MS} when undefined). Arguments JSON cannot
   * encode (a cycle, a BigInt) reject the call, as a failed send would,
   * rather than throw at the caller.
   */
  start(transmit, method, args, options, defaultTimeout) {
    const { stream, timeout } = splitCallOptions(options);
    const limit = timeout ?? (stream ? void 0 : defaultTimeout ?? DEFAULT_CALL_TIMEOUT_MS);
    const id = randomId();
    let request;
    try {
      request = JSON.stringify({ type: "rpc", id, method, args });
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return new Promise((resolve, reject) => {
      const entry = {
        id,
        method,
        request,
        sentOn: null,
        stream,
        resolve,
        reject,
        timer: void 0
      };
      if (limit !== void 0 && limit > 0) {
        entry.timer = setTimeout(() => {
          this.#finish(id, entry);
          const message = `RPC call to ${method} timed out after ${limit}ms`;
          reject(new Error(message));
          notify(() => stream?.onError?.(message));
        }, limit);
      }
      this.#calls.set(id, entry);
      entry.sentOn = transmit(request);
      if (entry.sentOn === null) this.#outbox.add(entry);
    });
  }
  /**
   * Sends every call that has not been sent yet, and the held frames, in the
   * order they were made, with `send` (by default `socket.send`); the calls
   * are then "sent on" `socket`.
   */
  flush(socket, send = (data) => socket.send(data)) {
    for (const item of this.#outbox.take()) {
      if (item instanceof HeldFrame) {
        send(item.frame);
        continue;
      }
      if (item.sentOn !== null || this.#calls.get(item.id) !== item) continue;
      send(item.request);
      item.sentOn = socket;
    }
  }
  /** Applies an `rpc` reply frame; returns false when no call has its id. */
  settle(frame) {
    const entry = this.#calls.get(frame.id);
    if (entry === void 0) return false;
    if (!frame.success) {
      const message = frame.error ?? "RPC call failed";
      this.#finish(frame.id, entry);
      entry.reject(new AgentCallError(message, entry.method));
      notify(() => entry.stream?.onError?.(message));
      return true;
    }
    if (frame.done === false) {
      entry.stream?.onChunk?.(frame.result);
      return true;
    }
    this.#finish(frame.id, entry);
    entry.resolve(frame.result);
    notify(() => entry.stream?.onDone?.(frame.result));
    return true;
  }
  /** Rejects the calls that were sent on `socket` (their replies will never come). */
  rejectSentOn(socket, reason) {
    this.#rejectWhere((entry) => entry.sentOn === socket, reason);
  }
  /** Rejects the calls that were never sent. */
  rejectUnsent(reason) {
    this.#rejectWhere((entry) => entry.sentOn === null, reason);
  }
  /** Rejects every waiting call. */
  rejectAll(reason) {
    this.#rejectWhere(() => true, reason);
  }
  #rejectWhere(match, reason) {
    for (const [id, entry] of [...this.#calls]) {
      if (!match(entry)) continue;
      this.#finish(id, entry);
      entry.reject(new Error(reason));
      notify(() => entry.stream?.onError?.(reason));
    }
  }
  #finish(id, entry) {
    if (entry.timer !== void 0) clearTimeout(entry.timer);
    this.#calls.delete(id);
    if (entry.sentOn === null) this.#outbox.remove(entry);
  }
};

// src/client/ready.ts
var ReadySignal = class {
  #promise;
  #resolve = null;
  constructor() {
    this.#renew();
  }
  /** Settles once the current (or next) connection is identified. */
  get promise() {
    return this.#promise;
  }
  /** Whether the current promise has resolved. */
  get resolved() {
    return this.#resolve === null;
  }
  resolve() {
    this.#resolve?.();
    this.#resolve = null;
  }
  /** After a close: a resolved promise is replaced by a pending one. */
  reset() {
    if (this.resolved) this.#renew();
  }
  #renew() {
    this.#promise = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }
};

// src/client/url.ts
var SCHEME = /^(https?|wss?):\/\//i;
function isLocalHost(host) {
  const hostname = host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0] ?? "";
  if (hostname === "localhost" || hostname === "[::1]" || hostname === "[::ffff:7f00:1]") return true;
  const parts = hostname.split(".").map(Number);
  if (parts.length !== 4 || parts.some((n) => !Number.isInteger(n))) return false;
  const [a = 0, b = 0] = parts;
  return a === 127 || a === 10 || a === 192 && b === 168 || a === 172 && b >= 16 && b <= 31;
}
function resolveHost(host, protocol) {
  const scheme = SCHEME.exec(host)?.[1]?.toLowerCase();
  const bare = host.replace(SCHEME, "").replace(/\/+$/, "");
  const chosen = protocol ?? scheme;
  if (chosen !== void 0) return { host: bare, secure: chosen === "https" || chosen === "wss" };
  return { host: bare, secure: !isLocalHost(bare) };
}
function encodeInstanceName(name) {
  if (name === "." || name === "..") {
    throw new RangeError(`The instance name "${name}" cannot be used: URLs drop "." and ".." path segments`);
  }
  return encodeURIComponent(name);
}
function agentSteps(address) {
  const sub = Array.isArray(address.sub) ? address.sub : [];
  const text = (value) => typeof value === "string" ? value : "";
  const steps = sub.map((step) => {
    const { agent, name } = typeof step === "object" && step !== null ? step : {};
    return { agent: text(agent), name: text(name) };
  });
  return [{ agent: address.agent, name: address.name || "default" }, ...steps];
}
var SUB_AGENT_SEGMENT = "sub";
function agentPath(address) {
  const prefix = (address.prefix ?? "agents").replace(/^\/+|\/+$/g, "");
  const name = encodeInstanceName(address.name || "default");
  return `${prefix ? `/${prefix}` : ""}/${camelCaseToKebabCase(address.agent)}/${name}${subAgentPath(address.sub)}`;
}
function subAgentPath(sub) {
  if (sub === void 0) return "";
  if (!Array.isArray(sub)) throw addressError(`sub must be an array of { agent, name } steps, root first (got ${describeValue(sub)})`);
  let path = "";
  sub.forEach((step, index) => {
    path += `/${SUB_AGENT_SEGMENT}/${stepSegments(step, `sub[${index}]`)}`;
  });
  return path;
}
function stepSegments(step, where) {
  if (typeof step !== "object" || step === null) throw addressError(`${where} must be an object { agent, name } (got ${describeValue(step)})`);
  const { agent, name } = step;
  if (typeof agent !== "string" || agent === "") {
    throw addressError(`${where}.agent must be a non-empty string, the sub-agent's class (got ${describeValue(agent)})`);
  }
  if (typeof name !== "string" || name === "") {
    throw addressError(`${where}.name must be a non-empty string, the sub-agent's instance name (got ${describeValue(name)})`);
  }
  const segment = camelCaseToKebabCase(agent);
  if (segment === SUB_AGENT_SEGMENT) {
    throw addressError(`${where}.agent ${JSON.stringify(agent)} has the URL form "sub", which separates sub-agents in URLs; rename the class`);
  }
  if (!isPlainSegment(segment)) {
    throw addressError(`${where}.agent ${JSON.stringify(agent)} has the URL form ${JSON.stringify(segment)}, which is not one plain URL path segment`);
  }
  if (name.includes("\0")) throw addressError(`${where}.name must not contain NUL characters`);
  if (!name.isWellFormed()) throw addressError(`${where}.name must be well-formed Unicode (it has an unpaired surrogate)`);
  if (name === "." || name === "..") {
    throw addressError(`${where}.name ${JSON.stringify(name)} cannot be used: URLs drop "." and ".." path segments`);
  }
  return `${segment}/${encodeURIComponent(name)}`;
}
function isPlainSegment(segment) {
  if (segment.includes("%") || segment.includes("/")) return false;
  try {
    return new URL(`http://host/${segment}/`).pathname === `/${segment}/`;
  } catch {
    return false;
  }
}
function addressError(detail) {
  return new TypeError(`Invalid sub-agent address: ${detail}`);
}
function describeValue(value) {
  if (value === void 0) return "undefined";
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null || typeof value !== "object") return String(value);
  return Array.isArray(value) ? "an array" : "an object";
}
function instancePath(address) {
  const basePath = address.basePath?.replace(/^\/+|\/+$/g, "");
  return basePath ? `/${basePath}${subAgentPath(address.sub)}` : agentPath(address);
}

// src/client/socket-options.ts
var AGENT_SOCKET_OPTION_KEYS = {
  agent: true,
  name: true,
  prefix: true,
  basePath: true,
  sub: true,
  path: true,
  protocol: true,
  transport: true,
  defaultCallTimeout: true,
  onStateUpdate: true,
  onStateUpdateError: true,
  onIdentity: true,
  onIdentityChange: true,
  onMcpUpdate: true,
  onConnectionError: true,
  shouldReconnectOnClose: true
};
function partySocketOptions(options, omit = []) {
  checkTransport(options.transport);
  const rest = { ...options };
  for (const key of Object.keys(AGENT_SOCKET_OPTION_KEYS)) delete rest[key];
  for (const key of omit) delete rest[key];
  return { address: socketPath(options), rest };
}
var SERVED_TRANSPORTS = /* @__PURE__ */ new Set(["cf-websocket", "hibernating", "partykit"]);
function checkTransport(transport) {
  if (transport === void 0 || SERVED_TRANSPORTS.has(transport)) return;
  throw new TypeError(
    `transport ${JSON.stringify(transport)} is not supported: Hearth serves agents over a plain WebSocket ("cf-websocket", the default)`
  );
}
function socketPath(options) {
  const basePath = instancePath(options).slice(1);
  const path = options.path?.replace(/^\/+/, "") || void 0;
  return { basePath, path };
}

// src/client/stub.ts
var PROBED_KEYS = /* @__PURE__ */ new Set([
  "then",
  "catch",
  "finally",
  "toJSON",
  "toString",
  "valueOf",
  "constructor",
  "prototype",
  "$$typeof",
  "asymmetricMatch",
  "nodeType",
  "@@toStringTag"
]);
function createStubProxy(call) {
  return new Proxy({}, {
    get(_target, key) {
      if (typeof key === "symbol" || PROBED_KEYS.has(key)) return void 0;
      return (...args) => call(key, args);
    },
    has() {
      return false;
    }
  });
}

// src/client/agent-client.ts
var CLOSED = "Connection closed";
var AgentClientSocket = class extends PartySocket {
  /**
   * The agent class in URL form, `"chat-room"`: the last `sub` step's when
   * connected to a sub-agent; updated by the server's identity frame.
   */
  agent;
  /**
   * The last state received or set, `undefined` until then; back to
   * `undefined` when `updateProperties` readdresses the client.
   */
  state = void 0;
  /** True between the identity handshake and the next close. */
  identified = false;
  /** Why the connection ended for good (see `onConnectionError`); cleared when a connection opens. */
  connectionError = null;
  /** Methods of the agent as functions: `await client.stub.increment(2)`. */
  stub;
  /**
   * Calls a method of the agent and resolves with its result. With stream
   * callbacks, chunks of a streaming method go to `onChunk` and the call
   * resolves with the final value. Rejects with the agent's error message,
   * "RPC call to … timed out after …ms", or "Connection closed".
   */
  call;
  #options;
  #calls = new PendingCalls();
  #handshake = new Handshake();
  #ready = new ReadySignal();
  #identities = new IdentityHistory();
  #policy;
  /** The address, root first; `updateProperties` may change it. */
  #steps;
  /** The `prefix` option; `updateProperties` may change it. */
  #prefix;
  #closed = false;
  /** Whether the current connection attempt opened, for the message of a terminal close. */
  #opened = false;
  constructor(options) {
    const { address, rest } = partySocketOptions(options, ["host", "onOpen", "onClose", "onError"]);
    const { onOpen, onClose, onError } = options;
    const resolved = resolveHost(options.host, options.protocol);
    const self = { socket: null };
    const policy = new ClosePolicy(
      () => self.socket,
      () => options.shouldReconnectOnClose?.bind(options),
      () => options.maxRetries
    );
    super({
      ...rest,
      host: resolved.host,
      protocol: resolved.secure ? "wss" : "ws",
      ...address,
      shouldReconnectOnClose: policy.decide
    });
    self.socket = this;
    this.#policy = policy;
    this.#options = options;
    this.#steps = frozenSteps(options);
    this.#prefix = options.prefix;
    const leaf = this.#steps[this.#steps.length - 1];
    this.agent = camelCaseToKebabCase(leaf.agent);
    this.name = leaf.name;
    this.room = this.#room();
    this.stub = createStubProxy((method, args) => this.#call(method, args));
    const call = (method, args, callOptions) => this.#call(method, args, callOptions);
    this.call = call;
    this.addEventListener("message", (event) => this.#onMessage(event.data));
    this.addEventListener("open", () => {
      this.#opened = true;
      this.connectionError = null;
      this.#calls.flush(this, (data) => this.#transmit(data));
    });
    this.addEventListener("close", (event) => this.#onClose(event));
    if (onOpen) this.addEventListener("open", (event) => onOpen(event));
    if (onClose) this.addEventListener("close", (event) => onClose(event));
    if (onError) this.addEventListener("error", (event) => onError(event));
  }
  /**
   * The address as given, root first: the top-level `{ agent, name }`, then
   * each `sub` step. (PartySocket's `path` is the URL sub-path.)
   */
  get agentPath() {
    return this.#steps;
  }
  /**
   * Settles once the server identified the instance (and, when it announced
   * one, sent the state); a new promise replaces it after each disconnect.
   */
  get ready() {
    return this.#ready.promise;
  }
  /**
   * PartySocket's, keeping one order with calls: while the socket is not
   * open, the frame waits with the calls made meanwhile and goes out after
   * the ones made before it (PartySocket's own buffer would send it first).
   * Returns true when the frame went out at once.
   */
  send(data) {
    if (this.readyState === this.OPEN && !this.#calls.queued) return super.send(data);
    const limit = this.#options.maxEnqueuedMessages ?? Number.POSITIVE_INFINITY;
    if (this.#calls.heldFrameCount < limit) this.#calls.hold(data);
    return false;
  }
  /** PartySocket's, counting the frames waiting for the socket to open too. */
  get bufferedAmount() {
    return super.bufferedAmount + this.#calls.heldFrameBytes;
  }
  /** PartySocket's: the frames passed to `send` and not transmitted yet (waiting calls stay). */
  drainQueuedMessages() {
    return [...super.drainQueuedMessages(), ...this.#calls.drainFrames()];
  }
  /** Replaces the agent's state; other clients receive it, and `onStateUpdate` runs with source "client". */
  setState(state) {
    this.send(stateFrame(state));
    this.state = state;
    this.#options.onStateUpdate?.(state, "client");
  }
  /** Closes the socket for good and rejects the calls still waiting. */
  close(code, reason) {
    this.#closed = true;
    this.#calls.rejectAll(CLOSED);
    super.close(code, reason);
  }
  /**
   * PartySocket's: changes options for the next connection (`reconnect()`
   * makes one now). `room` (the instance name), `party` (the agent class,
   * URL form) and `prefix` readdress the client, as in the Agents SDK, unless
   * it has a `basePath`; calls not sent yet are then discarded, since they
   * were meant for the previous instance, and `state` is `undefined` until
   * the new instance sends its own.
   */
  updateProperties(update) {
    const { room, party, prefix, ...rest } = update;
    const readdress = (room !== void 0 || party !== void 0 || prefix !== void 0) && rest.basePath === void 0 && !this.#options.basePath;
    const { agent, name } = this;
    const previousRoom = this.room;
    let basePath = rest.basePath;
    if (readdress) {
      const [root, ...sub] = this.#steps;
      const next = { agent: party ?? root.agent, name: room ?? root.name, prefix: prefix ?? this.#prefix, sub };
      basePath = socketPath(next).basePath;
      this.#steps = frozenSteps(next);
      this.#prefix = next.prefix;
    }
    super.updateProperties({ ...rest, basePath, path: (rest.path ?? this.path).replace(/^\/+/, "") });
    if (readdress) {
      this.#identities.reset();
      this.#calls.rejectUnsent("Call discarded: the client was readdressed before it could be sent");
      const leaf = this.#steps[this.#steps.length - 1];
      this.agent = camelCaseToKebabCase(leaf.agent);
      this.name = leaf.name;
      this.room = this.#room();
      this.state = void 0;
    } else {
      this.agent = agent;
      this.name = name;
      this.room = previousRoom;
    }
  }
  /** Closes the current connection, if any, and connects again. */
  reconnect(code, reason) {
    this.#closed = false;
    super.reconnect(code, reason);
  }
  #call(method, args = [], options) {
    if (this.#closed || this.connectionError !== null && this.readyState === this.CLOSED) {
      return Promise.reject(new Error(CLOSED));
    }
    return this.#calls.start(
      (request) => this.readyState === this.OPEN && !this.#calls.queued && this.#transmit(request) ? this : null,
      method,
      args,
      options,
      this.#options.defaultCallTimeout
    );
  }
  /** Sends on the open socket, past the ordering of {@link AgentClientSocket.send}. */
  #transmit(data) {
    return super.send(data);
  }
  /**
   * PartySocket's `room`, as in the Agents SDK: the (top-level) instance
   * name; undefined with `basePath`, where the server picks the instance.
   */
  #room() {
    return this.#options.basePath ? void 0 : this.#steps[0].name;
  }
  #onMessage(data) {
    const frame = readClientFrame(data);
    if (frame === void 0) return;
    switch (frame.type) {
      case "cf_agent_identity": {
        const identity = this.#handshake.identity(frame);
        if (identity) this.#identify(identity);
        return;
      }
      case "cf_agent_state": {
        this.state = frame.state;
        try {
          this.#options.onStateUpdate?.(frame.state, "server");
        } finally {
          const identity = this.#handshake.state();
          if (identity) this.#identify(identity);
        }
        return;
      }
      case "cf_agent_state_error":
        this.#options.onStateUpdateError?.(frame.error);
        return;
      case "cf_agent_mcp_servers":
        this.#options.onMcpUpdate?.(frame.mcp);
        return;
      case "rpc":
        this.#calls.settle(frame);
        return;
    }
  }
  #identify(identity) {
    this.#identities.record(identity, this.#options.onIdentityChange);
    this.name = identity.name;
    this.agent = identity.agent;
    this.identified = true;
    this.#ready.resolve();
    this.#options.onIdentity?.(identity.name, identity.agent);
  }
  #onClose(event) {
    const final = this.#policy.takeFinal();
    const opened = this.#opened;
    this.#opened = false;
    this.identified = false;
    this.#handshake.reset();
    this.#ready.reset();
    this.#calls.rejectSentOn(this, CLOSED);
    if (this.shouldReconnect && !final) return;
    this.#calls.rejectAll(CLOSED);
    if (!final) return;
    const error = new AgentConnectionError(event, opened);
    this.connectionError = error;
    this.#options.onConnectionError?.(error);
  }
};
function frozenSteps(address) {
  return Object.freeze(agentSteps(address).map((step) => Object.freeze(step)));
}
var AgentClient = AgentClientSocket;

// src/client/team-run.ts
var OPEN = 1;
var TEAM_RUN_END_EVENTS = /* @__PURE__ */ new Set(["run-completed", "run-failed", "run-cancelled"]);
function watchTeamRun(socket, runId, onEvent, options = {}) {
  let cursor = options.after ?? 0;
  let stopped = false;
  const ask = () => {
    if (!stopped && socket.readyState === OPEN) socket.send(JSON.stringify({ type: "hearth_team_watch", runId, after: cursor }));
  };
  const onMessage = (message) => {
    if (typeof message.data !== "string" || !message.data.includes(runId)) return;
    let frame;
    try {
      frame = JSON.parse(message.data);
    } catch {
      return;
    }
    if (frame.runId !== runId) return;
    if (frame.type === "hearth_team_error") return options.onError?.(String(frame.error));
    if (frame.type !== "hearth_team_event" || !frame.event || frame.event.seq <= cursor) return;
    cursor = frame.event.seq;
    onEvent(frame.event);
    if (TEAM_RUN_END_EVENTS.has(frame.event.type)) stop();
  };
  const stop = () => {
    if (stopped) return;
    stopped = true;
    socket.removeEventListener("message", onMessage);
    socket.removeEventListener("open", ask);
    if (socket.readyState === OPEN) socket.send(JSON.stringify({ type: "hearth_team_unwatch", runId }));
  };
  socket.addEventListener("message", onMessage);
  socket.addEventListener("open", ask);
  ask();
  return stop;
}
export {
  AgentClient,
  watchTeamRun
};
