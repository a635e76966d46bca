import { Chat, useChat, type UseChatHelpers } from "@ai-sdk/react";
import { generateId, type UIMessage } from "ai";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { fetchAgentMessages } from "../client/chat-history.ts";
import { CHAT_FRAME, chatControlFrame, chatMessagesFrame, readChatFrame, toolApprovalFrame, toolResultFrame } from "../client/chat-protocol.ts";
import { AgentChatTransport } from "../client/chat-transport.ts";
import {
  applyMessageUpdate,
  awaitsToolInput,
  extractClientToolSchemas,
  findApproval,
  findToolName,
  mergeServerMessages,
  pendingToolCalls,
  prependMissing,
} from "./chat-messages.ts";
import { TurnObserver } from "./chat-observer.ts";
import { TurnStatus } from "./chat-turn-status.ts";
import type { AddToolOutputOptions, AgentChatConnection, UseAgentChatOptions, UseAgentChatResult } from "./chat-types.ts";

export type { AddToolOutputOptions, AgentChatConnection, AgentToolCall, UseAgentChatOptions, UseAgentChatResult } from "./chat-types.ts";
export type { ChatTurnEndEvent } from "./chat-turn-status.ts";

/**
 * The HTTP URL of the agent behind a socket with the connection's query (an
 * auth token, say), as the Agents SDK hands it to the history request and to
 * `getInitialMessages`: only PartySocket's connection id `_pk` is left out.
 */
function httpUrlOf(agent: AgentChatConnection): string | undefined {
  const raw = typeof agent.getHttpUrl === "function" ? agent.getHttpUrl() : (agent.url || agent.roomUrl)?.replace(/^ws/, "http");
  if (!raw) return undefined;
  const url = new URL(raw);
  url.searchParams.delete("_pk");
  url.hash = "";
  url.pathname = url.pathname.replace(/\/$/, "");
  return url.toString();
}

/** The URL of the agent's `get-messages` endpoint, with the query of `url`. */
function messagesUrlOf(url: string): string {
  const target = new URL(url);
  target.pathname = `${target.pathname.replace(/\/$/, "")}/get-messages`;
  return target.toString();
}

/**
 * An AI chat with a Hearth `AIChatAgent` (or any agent speaking its chat
 * protocol) over the agent's WebSocket: streaming answers, tool calls with
 * approval, client tools, the stored transcript on load, joining a running
 * turn after a reload or reconnect, stop and clear. Returns the AI SDK's
 * `useChat` helpers plus `clearHistory`, `isStreaming` and friends.
 *
 * The stored transcript is fetched (`GET …/get-messages`) without suspending
 * the component: `isLoadingHistory` is true until it is in, and a running
 * turn is joined after that.
 *
 * @example
 * ```tsx
 * function Chat() {
 *   const agent = useAgent({ agent: "Chat", name: "support" });
 *   const { messages, sendMessage, addToolApprovalResponse, isStreaming, stop } = useAgentChat({ agent });
 *   return <ChatView messages={messages} onSend={(text) => sendMessage({ text })} busy={isStreaming} onStop={stop}
 *     onApprove={(id) => addToolApprovalResponse({ id, approved: true })} />;
 * }
 * ```
 */
export function useAgentChat<M extends UIMessage = UIMessage>(options: UseAgentChatOptions<M>): UseAgentChatResult<M>;
/**
 * The Agents SDK's order, `useAgentChat<State, ChatMessage>(…)`: the first
 * type argument (the agent's state) is not used by the chat.
 */
export function useAgentChat<_State, M extends UIMessage = UIMessage>(
  options: UseAgentChatOptions<M>,
): UseAgentChatResult<M>;
export function useAgentChat<M extends UIMessage>(options: UseAgentChatOptions<M>): UseAgentChatResult<M> {
  const {
    agent,
    messages: startMessages,
    getInitialMessages,
    credentials: _credentials,
    headers: _headers,
    body: _body,
    prepareSendMessagesRequest: _prepare,
    tools: _tools,
    onToolCall: _onToolCall,
    autoContinueAfterToolResult: _autoContinue,
    resume = true,
    cancelOnClientAbort = false,
    syncMessagesToServer: _sync,
    throttle: throttleOption,
    experimental_throttle: experimentalThrottle,
    onTurnEnd: _onTurnEnd,
    ...chatInit
  } = options;
  // The Agents SDK's order: `throttle`, then its deprecated name, then 50 ms.
  const throttle = throttleOption ?? experimentalThrottle ?? 50;
  const latest = useRef(options);
  latest.current = options;
  const url = httpUrlOf(agent);
  // Without the query: a new token is the same conversation.
  const chatKey = agent.roomUrl ?? url?.replace(/\?.*$/, "") ?? `${agent.agent ?? ""}/${agent.name ?? ""}`;
  const autoContinue = (): boolean => latest.current.autoContinueAfterToolResult !== false;
  const clientTools = (): unknown[] | undefined => extractClientToolSchemas(latest.current.tools);

  // Calls from the transport and the observer go to the current render's handlers.
  const handlers = useRef({
    joinLate: (_id: string) => {},
    turnLost: () => {},
    turnSkipped: (_messageId: string) => {},
    frame: (_event: Event) => {},
    reopened: () => {},
  });
  const helpers = useRef<UseChatHelpers<M> | null>(null);
  /** The AI SDK chat of the current `chatKey`. */
  const live = useRef<Chat<M> | null>(null);
  /** The transcript as the chat holds it now (the rendered `messages` lag behind by the render throttle). */
  const liveMessages = (): M[] => live.current?.messages ?? [];
  const [serverStreaming, setServerStreaming] = useState(false);
  const [observer] = useState(
    () =>
      new TurnObserver<M>({
        messages: liveMessages,
        update: (change) => helpers.current?.setMessages(change),
        activeChanged: setServerStreaming,
        joinLate: (id) => handlers.current.joinLate(id),
        // The AI SDK reports the data parts of the streams it reads; these it does not read.
        data: (part) => latest.current.onData?.(part),
        generateId,
      }),
  );
  const [transport] = useState(
    () =>
      new AgentChatTransport<M>({
        agent,
        detached: true,
        cancelOnAbort: cancelOnClientAbort,
        onUnownedFrame: (frame) => observer.handle(frame),
        onTurnLost: () => handlers.current.turnLost(),
        onTurnSkipped: ({ messageId, messageIds }) => {
          // Refused before the agent stored anything: the message shown optimistically goes.
          if (messageId !== undefined && messageIds === undefined) handlers.current.turnSkipped(messageId);
        },
        isObserved: (id) => observer.has(id),
        // One transport for every conversation the hook shows: `chatId` is the one sending.
        body: async ({ chatId, messages, trigger, messageId }) => {
          const { body, prepareSendMessagesRequest } = latest.current;
          const extra: Record<string, unknown> = { ...(typeof body === "function" ? await body() : body) };
          const tools = clientTools();
          if (tools !== undefined) extra.clientTools = tools;
          const prepared = await prepareSendMessagesRequest?.({ id: chatId, messages, trigger, messageId });
          return { ...extra, ...prepared?.body };
        },
      }),
  );
  const [isRecovering, setIsRecovering] = useState(false);
  const [turnStatus] = useState(
    () =>
      new TurnStatus({
        settling: (id) => transport.owns(id) && (live.current?.status === "submitted" || live.current?.status === "streaming"),
        ended: (event) => latest.current.onTurnEnd?.(event),
        recoveringChanged: setIsRecovering,
      }),
  );
  useEffect(() => {
    transport.setAgent(agent);
    return () => {
      transport.close();
      observer.reset();
    };
  }, [transport, observer, agent]);

  // The chat is made here rather than by `useChat`, so the hook can read its transcript without a render.
  const chatObject = useMemo(
    () =>
      new Chat<M>({
        ...chatInit,
        id: chatKey,
        messages: startMessages,
        transport,
        onFinish: (event) => latest.current.onFinish?.(event),
        onError: (error) => latest.current.onError?.(error),
        onData: (part) => latest.current.onData?.(part),
        sendAutomaticallyWhen: (event) => latest.current.sendAutomaticallyWhen?.(event) ?? false,
      }),
    // A new chat only for a new conversation; the callbacks above read the latest options.
    [chatKey, transport],
  );
  live.current = chatObject;
  useEffect(() => () => void chatObject.stop(), [chatObject]);
  const chat = useChat<M>({
    chat: chatObject,
    ...(throttle === false ? {} : { throttle, experimental_throttle: throttle }),
  });
  helpers.current = chat;
  const { status, setMessages: setLocalMessages, resumeStream } = chat;
  // Ends of this tab's requests wait for the chat's status to settle, so onTurnEnd may send.
  useEffect(() => {
    if (status !== "submitted" && status !== "streaming") turnStatus.flush();
  }, [status, turnStatus]);
  // `useChat` renders the transcript at most every `throttle` ms, but a change of status at once, and
  // a turn the observer follows stops streaming with `serverStreaming`, outside `useChat`. While a
  // turn streams the throttled transcript is shown; once none does, the transcript as the chat holds
  // it, so "no longer streaming" never shows an answer short of its last chunks.
  const streamingNow = status === "submitted" || status === "streaming" || serverStreaming;
  const messages = streamingNow ? chat.messages : chatObject.messages;
  /** No turn streams into the transcript right now (read live, not from the last render). */
  const idle = (): boolean => transport.activeTurnIds.length === 0 && !observer.active;

  // The stored transcript, once per chat. A load that fails resolves undefined, so the messages
  // already shown stay (a refused request is not an empty transcript).
  const [loadedKey, setLoadedKey] = useState<string | null>(null);
  const loadHistory = useCallback(async (): Promise<M[] | undefined> => {
    const load = latest.current.getInitialMessages;
    if (load === null) return undefined;
    try {
      if (load !== undefined) return await load({ agent: agent.agent ?? "", name: agent.name ?? "", url });
      if (url === undefined) return undefined;
      const { credentials, headers } = latest.current;
      return await fetchAgentMessages<M>({ url: messagesUrlOf(url), credentials, headers });
    } catch (error) {
      console.warn("[useAgentChat] Could not load the chat history:", error);
      return undefined;
    }
  }, [agent, url]);
  useEffect(() => {
    let cancelled = false;
    void loadHistory().then((history) => {
      if (cancelled) return;
      if (history !== undefined) setLocalMessages((current) => prependMissing(history, current));
      setLoadedKey(chatKey);
    });
    return () => {
      cancelled = true;
    };
  }, [chatKey, loadHistory, setLocalMessages]);
  const historyLoaded = getInitialMessages === null || loadedKey === chatKey;

  // Join a turn already running once the history is in.
  useEffect(() => {
    if (historyLoaded && resume) void resumeStream().catch(() => {});
  }, [historyLoaded, resume, resumeStream]);

  handlers.current.joinLate = () => {
    if (latest.current.resume !== false && idle()) void resumeStream().catch(() => {});
  };
  handlers.current.turnLost = () => {
    void loadHistory().then((history) => {
      if (history !== undefined && idle()) setLocalMessages(history);
    });
  };

  handlers.current.turnSkipped = (messageId) => {
    setLocalMessages((current) => current.filter((message) => message.id !== messageId));
  };

  // Transcript frames, and joining again after a dropped connection. The listeners stay for the
  // socket's life; `dropped` outlives the renders a closed connection causes.
  const dropped = useRef(false);
  handlers.current.frame = (event) => {
    const frame = readChatFrame((event as MessageEvent).data);
    if (frame !== undefined) turnStatus.handle(frame);
    switch (frame?.type) {
      case CHAT_FRAME.messages:
        setLocalMessages((current) => mergeServerMessages(frame.messages as M[], current, !idle()));
        return;
      case CHAT_FRAME.messageUpdated:
        setLocalMessages((current) => applyMessageUpdate(current, frame.message as M));
        return;
      case CHAT_FRAME.clear:
        resetLocal();
        return;
    }
  };
  handlers.current.reopened = () => {
    if (!dropped.current) return;
    dropped.current = false;
    const reattached = observer.hasInterrupted
      ? transport.probe().then((id) => {
          if (id !== null && observer.isInterrupted(id)) {
            observer.reattach(id);
            transport.ack(id);
          }
          observer.endInterrupted();
        })
      : Promise.resolve();
    // Catch up with what happened while the connection was down, then join a turn that runs.
    void reattached.then(async () => {
      if (!idle()) return;
      const history = await loadHistory();
      if (history !== undefined && idle()) setLocalMessages(history);
      if (latest.current.resume !== false && idle()) void resumeStream().catch(() => {});
    });
  };
  useEffect(() => {
    const onMessage = (event: Event): void => handlers.current.frame(event);
    const onClose = (): void => {
      dropped.current = true;
      observer.interrupt();
    };
    const onOpen = (): void => handlers.current.reopened();
    agent.addEventListener("message", onMessage);
    agent.addEventListener("close", onClose);
    agent.addEventListener("open", onOpen);
    return () => {
      agent.removeEventListener("message", onMessage);
      agent.removeEventListener("close", onClose);
      agent.removeEventListener("open", onOpen);
    };
  }, [agent, observer]);

  const handled = useRef(new Set<string>());
  const resetLocal = useCallback((): void => {
    observer.reset();
    handled.current.clear();
    helpers.current?.setMessages([]);
  }, [observer]);

  const addToolOutput = useCallback(
    (output: AddToolOutputOptions): void => {
      const current = helpers.current;
      if (current === null) return;
      const toolName = output.toolName ?? findToolName(liveMessages(), output.toolCallId) ?? "";
      const failed = output.state === "output-error";
      const continues = !failed && autoContinue();
      agent.send(
        toolResultFrame({
          toolCallId: output.toolCallId,
          toolName,
          output: output.output,
          ...(output.state !== undefined ? { state: output.state } : {}),
          ...(output.errorText !== undefined ? { errorText: output.errorText } : {}),
          autoContinue: continues,
          clientTools: clientTools(),
        }),
      );
      const local = failed
        ? current.addToolOutput({ tool: toolName, toolCallId: output.toolCallId, state: "output-error", errorText: output.errorText ?? "Tool execution denied by user" })
        : current.addToolOutput({ tool: toolName, toolCallId: output.toolCallId, output: output.output });
      if (!autoContinue()) void Promise.resolve(local).then(() => sendWhenResolved());
    },
    [agent],
  );

  /** Without auto-continue, the client asks for the next step once no tool call waits any more. */
  const sendWhenResolved = (): void => {
    if (!awaitsToolInput(liveMessages())) void helpers.current?.sendMessage();
  };

  const addToolApprovalResponse = useCallback(
    (response: { id: string; approved: boolean; reason?: string }): void => {
      const current = helpers.current;
      if (current === null) return;
      const call = findApproval(liveMessages(), response.id);
      if (call === undefined) {
        console.warn(`[useAgentChat] No tool call waits for approval "${response.id}"`);
        return;
      }
      agent.send(toolApprovalFrame({ toolCallId: call.toolCallId, approved: response.approved, autoContinue: autoContinue() }));
      const local = current.addToolApprovalResponse(response);
      if (!autoContinue()) void Promise.resolve(local).then(() => sendWhenResolved());
    },
    [agent],
  );

  // Tool calls that wait for the client, once nothing streams any more.
  const [runningTools, setRunningTools] = useState(0);
  useEffect(() => {
    if (streamingNow) return;
    for (const call of pendingToolCalls(messages)) {
      if (handled.current.has(call.toolCallId)) continue;
      const { onToolCall, tools } = latest.current;
      const execute = tools?.[call.toolName]?.execute;
      if (onToolCall === undefined && execute === undefined) continue;
      handled.current.add(call.toolCallId);
      setRunningTools((count) => count + 1);
      const report = (output: Omit<AddToolOutputOptions, "toolName" | "toolCallId"> & { toolCallId?: string }) =>
        addToolOutput({ ...output, toolCallId: output.toolCallId ?? call.toolCallId, toolName: call.toolName });
      const run = async (): Promise<void> => {
        if (onToolCall !== undefined) return onToolCall({ toolCall: call, addToolOutput: report });
        try {
          report({ output: await execute!(call.input) });
        } catch (error) {
          report({ state: "output-error", errorText: error instanceof Error ? error.message : String(error) });
        }
      };
      void run()
        .catch((error: unknown) => console.error("[useAgentChat] onToolCall failed:", error))
        .finally(() => setRunningTools((count) => count - 1));
    }
  }, [messages, streamingNow, addToolOutput]);

  const stop = useCallback(async (): Promise<void> => {
    transport.cancel();
    for (const id of observer.ids) agent.send(chatControlFrame(CHAT_FRAME.cancel, { id }));
    await helpers.current?.stop();
  }, [transport, observer, agent]);

  const clearHistory = useCallback((): void => {
    void helpers.current?.stop();
    resetLocal();
    agent.send(chatControlFrame(CHAT_FRAME.clear));
  }, [agent, resetLocal]);

  const setMessages = useCallback<UseChatHelpers<M>["setMessages"]>(
    (next) =>
      setLocalMessages((current) => {
        const messages = typeof next === "function" ? next(current) : next;
        if (latest.current.syncMessagesToServer !== false) agent.send(chatMessagesFrame(messages));
        return messages;
      }),
    [agent, setLocalMessages],
  );

  const isServerStreaming = serverStreaming || runningTools > 0;
  const result: UseAgentChatResult<M> = {
    ...chat,
    messages,
    stop,
    setMessages,
    addToolOutput,
    addToolResult: ({ tool, toolCallId, output, state, errorText }) =>
      addToolOutput({ toolCallId, toolName: tool, output, state, errorText }),
    addToolApprovalResponse,
    clearHistory,
    isServerStreaming,
    isStreaming: chat.status === "streaming" || isServerStreaming,
    isLoadingHistory: !historyLoaded,
    isRecovering,
  };
  return result;
}
