import type { PartySocket } from "partysocket";
import { usePartySocket } from "partysocket/react";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type {
  AgentClassGuard,
  ClientCall,
  ClientState,
  ClientStub,
  DefaultClientState,
  UntypedAgentCall,
} from "../client/agent-types.ts";
import { AgentConnectionError, ClosePolicy } from "../client/connection-error.ts";
import { readClientFrame, stateFrame } from "../client/frames.ts";
import { Handshake } from "../client/handshake.ts";
import type { Identity } from "../client/handshake.ts";
import { IdentityHistory } from "../client/identity-change.ts";
import { camelCaseToKebabCase } from "../protocol/kebab.ts";
import { PendingCalls } from "../client/pending-calls.ts";
import type { CallOptionsInput } from "../client/pending-calls.ts";
import { ReadySignal } from "../client/ready.ts";
import { partySocketOptions } from "../client/socket-options.ts";
import type { AgentSocketOptions, ReplacedPartySocketOption } from "../client/socket-options.ts";
import { createStubProxy } from "../client/stub.ts";
import { agentSteps, resolveHost } from "../client/url.ts";
import type { AgentPathStep } from "../client/url.ts";
import { DEFAULT_QUERY_CACHE_TTL_MS, QueryCache } from "./query-cache.ts";
import type { AgentQuery } from "./query-cache.ts";

type PartySocketHookOptions = Parameters<typeof usePartySocket>[0];

/**
 * Options for {@link useAgent}; other `usePartySocket` options (`enabled`,
 * `maxRetries`, ...) pass through.
 *
 * @example
 * ```ts
 * const options: UseAgentOptions<{ count: number }> = {
 *   agent: "Counter",
 *   name: "room-1",
 *   query: async () => ({ token: await getToken() }),
 *   queryDeps: [userId],
 *   onStateUpdate: console.log,
 * };
 * ```
 */
export type UseAgentOptions<State = unknown> = Omit<PartySocketHookOptions, ReplacedPartySocketOption | "onMessage" | "query"> &
  AgentSocketOptions<State> & {
    /** `"host:port"` or a URL; defaults to the page's host. */
    host?: string;
    /**
     * Query parameters of the connection, or a function resolving them (an
     * auth token, say). The function runs before the first connection, and
     * again when `queryDeps` change, when `cacheTtl` runs out (reconnecting
     * if the parameters changed) and after the connection dropped.
     */
    query?: AgentQuery;
    /** Values that, when they change, call the query function again and reconnect. */
    queryDeps?: unknown[];
    /** How long a query function's result is reused, in milliseconds; five minutes by default. */
    cacheTtl?: number;
    /** Messages the hook does not handle itself (anything but identity, state and RPC replies). */
    onMessage?(event: MessageEvent): void;
  };

export type { AgentPathStep } from "../client/url.ts";

/**
 * What {@link useAgent} returns, with its state, stub and call types
 * resolved: a `PartySocket` plus the agent API.
 */
export type AgentSocketWith<State, Stub, Call> = Omit<PartySocket, "path"> & {
  /** The agent class in URL form (the last `sub` step's, if any); updated by the server's identity frame. */
  agent: string;
  /**
   * The instance name (the last `sub` step's, if any); updated by the
   * server's identity frame, and kept through a reconnect until the address
   * changes.
   */
  name: string;
  /**
   * PartySocket's `room`, as in the Agents SDK: the top-level instance name;
   * undefined with `basePath`, where the server picks the instance.
   */
  room: string | undefined;
  /** The address as given, root first: the top-level `{ agent, name }`, then each `sub` step. */
  path: ReadonlyArray<AgentPathStep>;
  /** True between the identity handshake and the next close. */
  identified: boolean;
  /** Settles once the server identified the instance; a new promise replaces it after a disconnect. */
  ready: Promise<void>;
  /** The last state received or set for this address; `undefined` until then, and again after the address changes. */
  state: State | undefined;
  /** Why the connection ended for good (see `onConnectionError`); null while it is up or reconnecting. */
  connectionError: AgentConnectionError | null;
  setState(state: State): void;
  call: Call;
  stub: Stub;
  /** The instance's HTTP URL (the socket's URL with an http scheme). */
  getHttpUrl(): string;
};

/**
 * The socket returned by {@link useAgent}. `AgentSocket<A, B>` reads its
 * type arguments as `AgentClient` does: `<MyAgent, MyState>`, `<MyState>`
 * or `<MyState, MyMethods>`.
 *
 * @example
 * ```ts
 * const agent: AgentSocket<{ count: number }> = useAgent({ agent: "Counter" });
 * agent.setState({ count: 0 });
 * ```
 */
export type AgentSocket<A = unknown, B = DefaultClientState<A>> = AgentSocketWith<
  ClientState<A, B>,
  ClientStub<A, B>,
  ClientCall<A>
>;

const CLOSED = "Connection closed";

/**
 * Connects a component to an agent instance and keeps the connection for
 * the component's lifetime (a new socket when `agent`, `name`, `host` or
 * other address options change). Pass the agent class to type `stub` and
 * `call`, as with the Agents SDK: `useAgent<MyAgent, MyState>(…)`.
 *
 * @example
 * ```tsx
 * import type { ChatRoom, RoomState } from "../server";
 * const room = useAgent<ChatRoom, RoomState>({ agent: "ChatRoom", name: roomId, onStateUpdate: setRoom });
 * const send = (text: string) => room.stub.post(text);
 * ```
 */
export function useAgent<A = unknown>(options: UseAgentOptions<ClientState<A, DefaultClientState<A>>>): AgentSocket<A>;
/** The Agents SDK's order: `useAgent<MyAgent, MyState>(…)` types `stub` and `call` from the agent class. */
export function useAgent<AgentT, State = DefaultClientState<AgentT>>(
  options: UseAgentOptions<State> & AgentClassGuard<AgentT>,
): AgentSocket<AgentT, State>;
/** Hearth's earlier order: `useAgent<MyState, MyMethods>(…)` types the stub from an interface of methods. */
export function useAgent<State, Methods extends object>(options: UseAgentOptions<State>): AgentSocket<State, Methods>;
export function useAgent(options: UseAgentOptions): AgentSocketWith<unknown, unknown, UntypedAgentCall> {
  const { address, rest } = hookSocketOptions(options);
  const { host, protocol, query, queryDeps } = options;
  // The steps as given, root first; a new array with the same steps keeps the same value.
  const stepsKey = JSON.stringify(agentSteps(options));
  const steps = useMemo(() => JSON.parse(stepsKey) as AgentPathStep[], [stepsKey]);
  const leaf = steps[steps.length - 1]!;
  const kebab = camelCaseToKebabCase(leaf.agent);
  const instance = leaf.name;
  const resolved = host === undefined ? undefined : resolveHost(host, protocol);
  const addressKey = JSON.stringify([resolved?.host ?? null, address.basePath, address.path ?? null]);
  const latest = useRef(options);
  latest.current = options;
  const addressRef = useRef(addressKey);
  addressRef.current = addressKey;
  const destination: Destination = { basePath: address.basePath, path: address.path, host: resolved?.host };
  const destinationRef = useRef(destination);
  destinationRef.current = destination;
  const socketRef = useRef<PartySocket | null>(null);

  const [calls] = useState(() => new PendingCalls());
  const [handshakes] = useState(() => new WeakMap<object, Handshake>());
  const [readies] = useState(() => new Map<string, ReadySignal>());
  const [identities] = useState(() => new IdentityHistory());
  const [policy] = useState(
    () =>
      new ClosePolicy(
        () => socketRef.current,
        () => latest.current.shouldReconnectOnClose?.bind(latest.current),
        () => latest.current.maxRetries,
      ),
  );
  // The state with the address it belongs to: another address's state is never shown.
  const [state, setStateValue] = useState<{ value: unknown; address: string } | null>(null);
  // The last identity and the socket it came from. A close only clears `identified`: the name stays
  // (with `basePath` the server picked it) until the address changes.
  const [identity, setIdentity] = useState<(Identity & { socket: PartySocket; identified: boolean }) | null>(null);
  // Sockets whose current attempt opened: a terminal close of one that never did says so.
  const [opened] = useState(() => new WeakSet<object>());
  const [failure, setFailure] = useState<{ error: AgentConnectionError; socket: object } | null>(null);

  // The async query: cached per address (all its steps) and queryDeps; a drop or a change of deps fetches it again.
  const depsKey = JSON.stringify(queryDeps ?? []);
  const queryKey = JSON.stringify([stepsKey, depsKey]);
  const refreshing = useRef(false);
  const queryKeyRef = useRef(queryKey);
  queryKeyRef.current = queryKey;
  const [queryCache] = useState(
    () =>
      new QueryCache(
        () => {
          const current = latest.current;
          const fn = typeof current.query === "function" ? current.query : () => ({});
          return { query: fn, key: queryKeyRef.current, ttl: current.cacheTtl ?? DEFAULT_QUERY_CACHE_TTL_MS };
        },
        () => {
          const socket = socketRef.current;
          if (socket === null || socket.readyState !== socket.OPEN) return queryCache.invalidate();
          void queryCache.refresh().then((changed) => {
            if (!changed || socketRef.current !== socket || socket.readyState !== socket.OPEN) return;
            // A reconnect of our own: the close it causes must not throw the fresh result away.
            refreshing.current = true;
            try {
              socket.reconnect();
            } finally {
              refreshing.current = false;
            }
          });
        },
      ),
  );
  useEffect(() => {
    queryCache.start();
    return () => queryCache.stop();
  }, [queryCache]);

  const handshakeOf = (target: object): Handshake => {
    let handshake = handshakes.get(target);
    if (!handshake) handshakes.set(target, (handshake = new Handshake()));
    return handshake;
  };
  const readyFor = (key: string): ReadySignal => {
    let ready = readies.get(key);
    if (!ready) readies.set(key, (ready = new ReadySignal()));
    return ready;
  };
  /**
   * The socket of the hook's address; null for one render after the address changed, while
   * `usePartySocket` still returns the previous address's socket (it makes the new one in an effect).
   */
  const liveSocket = (): PartySocket | null => {
    const current = socketRef.current;
    return current !== null && connectsTo(current, destinationRef.current) ? current : null;
  };
  const identify = (target: PartySocket, found: Identity | undefined): void => {
    if (!found) return;
    if (target === liveSocket()) {
      identities.record(found, latest.current.onIdentityChange);
      Object.assign(live(target), { name: found.name, agent: found.agent, identified: true });
      readyFor(addressRef.current).resolve();
    }
    setIdentity({ ...found, socket: target, identified: true });
    latest.current.onIdentity?.(found.name, found.agent);
  };

  const socket = usePartySocket({
    ...rest,
    host: resolved?.host,
    protocol: resolved ? (resolved.secure ? "wss" : "ws") : protocol,
    ...address,
    query: typeof query === "function" ? queryCache.provider : query,
    shouldReconnectOnClose: policy.decide,
    onOpen(event) {
      if (event.target) opened.add(event.target);
      const current = liveSocket();
      if (current) calls.flush(current);
      setFailure(null);
      latest.current.onOpen?.(event);
    },
    onMessage(event) {
      const target = (event.target as PartySocket | null) ?? socketRef.current;
      const frame = readClientFrame(event.data);
      if (frame === undefined || target === null) return latest.current.onMessage?.(event);
      switch (frame.type) {
        case "cf_agent_identity":
          return identify(target, handshakeOf(target).identity(frame));
        case "cf_agent_state":
          if (target === liveSocket()) {
            setStateValue({ value: frame.state, address: addressRef.current });
            // Before `ready` resolves below: code awaiting it reads the live object, not the next render.
            live(target).state = frame.state;
          }
          try {
            latest.current.onStateUpdate?.(frame.state, "server");
          } finally {
            identify(target, handshakeOf(target).state());
          }
          return;
        case "cf_agent_state_error":
          return latest.current.onStateUpdateError?.(frame.error);
        case "cf_agent_mcp_servers":
          return latest.current.onMcpUpdate?.(frame.mcp);
        case "rpc":
          calls.settle(frame);
          return;
      }
    },
    onClose(event) {
      const target = (event.target as PartySocket | null) ?? socketRef.current;
      const final = policy.takeFinal();
      const wasOpen = target !== null && opened.delete(target);
      if (target !== null) {
        handshakeOf(target).reset();
        calls.rejectSentOn(target, CLOSED);
        if (target === liveSocket()) {
          readyFor(addressRef.current).reset();
          live(target).identified = false;
          const reconnecting = target.shouldReconnect && !final;
          if (!reconnecting) calls.rejectUnsent(CLOSED);
          else if (!refreshing.current) queryCache.invalidate();
          if (final) {
            const error = new AgentConnectionError(event, wasOpen);
            setFailure({ error, socket: target });
            latest.current.onConnectionError?.(error);
          }
        }
      }
      setIdentity((current) => (current?.socket === target && current.identified ? { ...current, identified: false } : current));
      latest.current.onClose?.(event);
    },
  });
  socketRef.current = socket;

  // A replaced socket (new address or options) ends the calls sent on it. Calls not sent yet are
  // dropped when the address changes, rather than delivered to a different instance; a new socket
  // for the same address sends them.
  const previous = useRef<{ socket: PartySocket; addressKey: string } | null>(null);
  useEffect(() => {
    const before = previous.current;
    previous.current = { socket, addressKey };
    if (before === null) return;
    if (before.socket !== socket) calls.rejectSentOn(before.socket, CLOSED);
    if (before.addressKey !== addressKey) calls.rejectUnsent("Call discarded: the agent address changed before it could be sent");
  }, [calls, socket, addressKey]);
  // An unmount ends every call. Strict Mode's rehearsal of one (effects cleaned up, then at once run
  // again, the socket kept) does not: a call made in a mount effect goes out when the socket opens.
  const mounted = useRef(false);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
      queueMicrotask(() => {
        if (!mounted.current) calls.rejectAll(CLOSED);
      });
    };
  }, [calls]);

  // A new address is a new instance: no identity change to report, the previous identity goes, and so
  // do resolved ready signals of other addresses.
  useEffect(() => {
    identities.reset();
    setIdentity((current) => (current !== null && !connectsTo(current.socket, destinationRef.current) ? null : current));
    for (const [key, ready] of readies) if (key !== addressKey && ready.resolved) readies.delete(key);
  }, [identities, readies, addressKey]);

  const failed = failure?.socket === socket ? failure.error : null;
  const failedRef = useRef(failed);
  failedRef.current = failed;

  // New queryDeps: the query function runs again (a new cache key) for a new connection. A socket
  // closed by the hook (replaced, disabled) stays closed; one the server ended for good comes back.
  const lastDeps = useRef(depsKey);
  useEffect(() => {
    if (lastDeps.current === depsKey) return;
    lastDeps.current = depsKey;
    const current = socketRef.current;
    if (typeof latest.current.query !== "function" || current === null || latest.current.enabled === false) return;
    if (current.shouldReconnect || failedRef.current !== null) current.reconnect();
  }, [depsKey]);

  const call = useCallback<UntypedAgentCall>(
    <T>(method: string, args: unknown[] = [], callOptions?: CallOptionsInput<T>): Promise<T> => {
      const current = liveSocket();
      if (current !== null && failedRef.current !== null && current.readyState === current.CLOSED) {
        return Promise.reject(new Error(CLOSED));
      }
      return calls.start<T>(
        (request) => {
          // Waits for the socket when it is not open, or is still the previous address's.
          if (current === null || current.readyState !== current.OPEN) return null;
          current.send(request);
          return current;
        },
        method,
        args,
        callOptions,
        latest.current.defaultCallTimeout,
      );
    },
    [calls],
  );
  const stub = useMemo(() => createStubProxy((method, args) => call(method, args)), [call]);
  const setState = useCallback((next: unknown) => {
    const current = socketRef.current;
    current?.send(stateFrame(next));
    setStateValue({ value: next, address: addressRef.current });
    // The live object at once, as in the Agents SDK: `agent.state` right after the call is the new state.
    if (current !== null) live(current).state = next;
    latest.current.onStateUpdate?.(next, "client");
  }, []);
  // The last identity, if it came from this render's address (not the previous one's): through a
  // reconnect it keeps naming the instance, though no longer `identified`.
  const known = identity !== null && connectsTo(identity.socket, destination) ? identity : undefined;
  const result = socket as unknown as AgentSocketWith<unknown, unknown, UntypedAgentCall>;
  result.agent = known?.agent ?? kebab;
  result.name = known?.name ?? instance;
  result.room = options.basePath ? undefined : steps[0]!.name;
  result.path = steps;
  result.identified = known !== undefined && known.identified && known.socket === socket;
  result.ready = readyFor(addressKey).promise;
  result.state = state?.address === addressKey ? state.value : undefined;
  result.connectionError = failed;
  result.call = call;
  result.stub = stub;
  result.setState = setState;
  result.getHttpUrl = () => httpUrlOf(socket, latest.current.query);
  return result;
}

/** The socket as the object the hook returns (the same object): its fields are written between renders too. */
function live(socket: PartySocket): { state: unknown; identified: boolean } {
  return socket as unknown as { state: unknown; identified: boolean };
}

/** Where a socket connects: the URL path options and, when given, the host. */
interface Destination {
  basePath: string;
  path: string | undefined;
  host: string | undefined;
}

/** Whether `socket` was made for `destination`. */
function connectsTo(socket: PartySocket, destination: Destination): boolean {
  const options = socket.partySocketOptions;
  return (
    options.basePath === destination.basePath &&
    (options.path || undefined) === destination.path &&
    (destination.host === undefined || options.host === destination.host)
  );
}

/**
 * The instance's HTTP URL: the socket's URL, with the query it connected
 * with. Before the socket has one (the first render), the room URL with a
 * fixed `query`, so a request made then carries the same token; a query
 * function has not run yet.
 */
function httpUrlOf(socket: PartySocket, query: AgentQuery | undefined): string {
  let url = socket.url;
  if (!url && socket.roomUrl) {
    const params = new URLSearchParams();
    if (query !== undefined && typeof query !== "function") {
      for (const [key, value] of Object.entries(query)) if (value !== null && value !== undefined) params.append(key, value);
    }
    const search = params.toString();
    url = search ? `${socket.roomUrl}?${search}` : socket.roomUrl;
  }
  return (url ?? "").replace(/^ws/, "http");
}

const HOOK_OWN_OPTIONS = ["host", "query", "queryDeps", "cacheTtl", "onMessage", "onOpen", "onClose"] as const;

/**
 * The socket options of the hook. A disabled hook (`enabled: false`) may
 * hold a placeholder `sub` step (an empty name while none is chosen yet): it
 * does not connect, so it gets the parent's address instead of an error.
 */
function hookSocketOptions(options: UseAgentOptions): ReturnType<typeof partySocketOptions<UseAgentOptions, (typeof HOOK_OWN_OPTIONS)[number]>> {
  try {
    return partySocketOptions(options, HOOK_OWN_OPTIONS);
  } catch (error) {
    if (options.enabled !== false || options.sub === undefined) throw error;
    return partySocketOptions({ ...options, sub: undefined }, HOOK_OWN_OPTIONS);
  }
}
