/** What the chat engine needs from its agent (ai-chat-agent.ts gives it). */
import type { UIMessage } from "ai";
import type { Connection } from "../agent/connection.ts";
import type { SqlTag } from "../storage/sql.ts";
import type { ChatLimits } from "./limits.ts";
import type { ChatRecoveryContext, ChatRecoveryOptions, ResolvedChatRecoveryConfig } from "./recovery-types.ts";
import type { MessageConcurrency } from "./submit-policy.ts";
import type { ChatFinishCallback, ChatResponseResult, OnChatMessageOptions } from "./types.ts";
import type { ChatReply } from "./ui-stream.ts";
import type { ChatUsageRecord } from "./usage.ts";

/** What the engine needs from its agent. */
export interface EngineHost<M extends UIMessage> {
  /** The agent itself: what its `agents:chat` events are emitted from. */
  readonly agent: object;
  readonly sql: SqlTag;
  /** Runs a script of statements without bindings (the chat schema). */
  execScript(script: string): void;
  now(): number;
  connections(): Iterable<Connection>;
  /** The connection with this id, if it is still open. */
  getConnection(id: string): Connection | undefined;
  keepAlive(): () => void;
  report(error: unknown): void;
  reply(onFinish: ChatFinishCallback, options: OnChatMessageOptions): Promise<ChatReply | undefined>;
  responded(result: ChatResponseResult<M>): void | Promise<void>;
  usage(record: ChatUsageRecord): void | Promise<void>;
  concurrency(): MessageConcurrency;
  limits(): ChatLimits;
  keepLast(): number | undefined;
  /** Clients may send `role: "system"` messages (`acceptClientSystemMessages`). */
  acceptSystem(): boolean;
  /** `chatRecovery`, resolved; undefined when off. */
  recovery(): ResolvedChatRecoveryConfig | undefined;
  /** The agent's `runFiber`: `fn` starts once the fiber's record (and the turn's) is committed. */
  runFiber<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /** The agent's `onChatRecovery`. */
  recovered(ctx: ChatRecoveryContext): Promise<ChatRecoveryOptions | void> | ChatRecoveryOptions | void;
  /** The agent's `sanitizeMessageForPersistence` (after the built-in cleaning). */
  sanitize(message: M): M;
  /**
   * Runs `fn` as an event of the agent with the connection `connectionId` (when still open), so the
   * turn's code and its tools see the agent (and the requesting client) in `getCurrentAgent()`.
   */
  scoped<T>(connectionId: string | undefined, fn: () => T): T;
}
