/**
 * React binding for Hearth agents, compatible with `agents/react`, and
 * `useAgentChat` for chat agents (needs `@ai-sdk/react`).
 *
 * @example
 * ```tsx
 * import { useAgent, useAgentChat } from "hearth/react";
 * function Counter() {
 *   const [count, setCount] = useState(0);
 *   const agent = useAgent<{ count: number }>({
 *     agent: "Counter",
 *     name: "room-1",
 *     onStateUpdate: (state) => setCount(state.count),
 *   });
 *   return <button onClick={() => agent.stub.increment(1)}>{count}</button>;
 * }
 * ```
 * @module
 */
import type { PartySocket } from "partysocket";
import { usePartySocket } from "partysocket/react";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { AgentSocketOptions } from "../client/agent-client.ts";
import { readClientFrame, stateFrame } from "../client/frames.ts";
import { Handshake } from "../client/handshake.ts";
import type { Identity } from "../client/handshake.ts";
import { camelCaseToKebabCase } from "../client/kebab.ts";
import { PendingCalls } from "../client/pending-calls.ts";
import type { CallOptionsInput } from "../client/pending-calls.ts";
import { createStub } from "../client/stub.ts";
import type { AgentStub, UntypedMethods } from "../client/stub.ts";
import { agentPath, resolveHost } from "../client/url.ts";

export { useAgentChat } from "./use-agent-chat.ts";
export type {
  AddToolOutputOptions,
  AgentChatConnection,
  AgentToolCall,
  UseAgentChatOptions,
  UseAgentChatResult,
} from "./use-agent-chat.ts";
export { extractClientToolSchemas, getToolPartState } from "./chat-messages.ts";
export type { AITool, ClientToolSchema } from "./chat-messages.ts";
export { AgentChatTransport } from "../client/chat-transport.ts";
export { getAgentMessages } from "../client/chat-history.ts";

type PartySocketHookOptions = Parameters<typeof usePartySocket>[0];

/**
 * Options for {@link useAgent}; other `usePartySocket` options pass through.
 *
 * @example
 * ```ts
 * const options: UseAgentOptions<{ count: number }> = { agent: "Counter", name: "room-1", onStateUpdate: console.log };
 * ```
 */
export type UseAgentOptions<State = unknown> = Omit<
  PartySocketHookOptions,
  "party" | "room" | "prefix" | "protocol" | "onMessage"
> &
  AgentSocketOptions<State> & {
    /** `"host:port"` or a URL; defaults to the page's host. */
    host?: string;
    /** Messages the hook does not handle itself (anything but identity, state and RPC replies). */
    onMessage?(event: MessageEvent): void;
  };

/**
 * The socket returned by {@link useAgent}: a `PartySocket` plus the agent API.
 *
 * @example
 * ```ts
 * const agent: AgentSocket<{ count: number }> = useAgent({ agent: "Counter" });
 * agent.setState({ count: 0 });
 * ```
 */
export type AgentSocket<State = unknown, Methods extends object = UntypedMethods> = PartySocket & {
  /** The agent class in URL form; updated by the server's identity frame. */
  agent: string;
  /** The instance name; updated by the server's identity frame. */
  name: string;
  identified: boolean;
  state: State | undefined;
  stub: AgentStub<Methods>;
  call<T = unknown>(method: string, args?: unknown[], options?: CallOptionsInput<T>): Promise<T>;
  setState(state: State): void;
  /** The instance's HTTP URL (the socket's URL with an http scheme), as `agents/react` offers it. */
  getHttpUrl(): string;
};

const CLOSED = "Connection closed";

/**
 * Connects a component to an agent instance and keeps the connection for
 * the component's lifetime (a new socket when `agent`, `name`, `host` or
 * other address options change).
 *
 * @example
 * ```tsx
 * const agent = useAgent({ agent: "ChatRoom", name: roomId, onStateUpdate: setRoom });
 * const send = (text: string) => agent.call("post", [text]);
 * ```
 */
export function useAgent<State = unknown, Methods extends object = UntypedMethods>(
  options: UseAgentOptions<State>,
): AgentSocket<State, Methods> {
  const {
    agent,
    name,
    host,
    prefix,
    protocol,
    defaultCallTimeout: _timeout,
    onStateUpdate: _state,
    onStateUpdateError: _stateError,
    onIdentity: _identity,
    onMcpUpdate: _mcp,
    onMessage: _message,
    onOpen: _open,
    onClose: _close,
    ...socketOptions
  } = options;
  const kebab = camelCaseToKebabCase(agent);
  const instance = name || "default";
  const resolved = host === undefined ? undefined : resolveHost(host, protocol);
  const latest = useRef(options);
  latest.current = options;
  const [calls] = useState(() => new PendingCalls());
  const [handshakes] = useState(() => new WeakMap<object, Handshake>());
  const [state, setStateValue] = useState<State | undefined>(undefined);
  const [identity, setIdentity] = useState<(Identity & { socket: object }) | null>(null);
  const socketRef = useRef<PartySocket | null>(null);

  const handshakeOf = (target: object): Handshake => {
    let handshake = handshakes.get(target);
    if (!handshake) handshakes.set(target, (handshake = new Handshake()));
    return handshake;
  };
  const identify = (target: object, found: Identity | undefined): void => {
    if (!found) return;
    setIdentity({ ...found, socket: target });
    latest.current.onIdentity?.(found.name, found.agent);
  };

  const socket = usePartySocket({
    ...socketOptions,
    host: resolved?.host,
    protocol: resolved ? (resolved.secure ? "wss" : "ws") : protocol,
    basePath: socketOptions.basePath ?? agentPath({ agent, name, prefix }).slice(1),
    onOpen(event) {
      const current = socketRef.current;
      if (current) calls.flush(current);
      latest.current.onOpen?.(event);
    },
    onMessage(event) {
      const target = event.target ?? socketRef.current;
      const frame = readClientFrame(event.data);
      if (frame === undefined || target === null) return latest.current.onMessage?.(event);
      switch (frame.type) {
        case "cf_agent_identity":
          return identify(target, handshakeOf(target).identity(frame));
        case "cf_agent_state":
          setStateValue(frame.state as State);
          try {
            latest.current.onStateUpdate?.(frame.state as State, "server");
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
      if (target !== null) {
        handshakeOf(target).reset();
        calls.rejectSentOn(target, CLOSED);
        if (target === socketRef.current && !target.shouldReconnect) calls.rejectUnsent(CLOSED);
      }
      setIdentity((current) => (current?.socket === target ? null : current));
      latest.current.onClose?.(event);
    },
  });
  socketRef.current = socket;

  // A replaced socket (new address or options) or an unmount ends the calls made on the old one;
  // calls not sent yet are dropped rather than delivered to a different instance.
  useEffect(
    () => () => {
      calls.rejectSentOn(socket, CLOSED);
      calls.rejectUnsent("Call discarded: the connection was replaced before it could be sent");
    },
    [calls, socket],
  );

  const call = useCallback(
    <T>(method: string, args: unknown[] = [], callOptions?: CallOptionsInput<T>): Promise<T> =>
      calls.start<T>(
        (request) => {
          const current = socketRef.current;
          if (current === null || current.readyState !== current.OPEN) return null;
          current.send(request);
          return current;
        },
        method,
        args,
        callOptions,
        latest.current.defaultCallTimeout,
      ),
    [calls],
  );
  const stub = useMemo(() => createStub<Methods>((method, args) => call(method, args)), [call]);
  const setState = useCallback((next: State) => {
    socketRef.current?.send(stateFrame(next));
    setStateValue(next);
    latest.current.onStateUpdate?.(next, "client");
  }, []);

  const current = identity?.socket === socket ? identity : undefined;
  const result = socket as AgentSocket<State, Methods>;
  result.agent = current?.agent ?? kebab;
  result.name = current?.name ?? instance;
  result.identified = current !== undefined;
  result.state = state;
  result.call = call;
  result.stub = stub;
  result.setState = setState;
  result.getHttpUrl = () => (socket.url || socket.roomUrl || "").replace(/^ws/, "http");
  return result;
}
