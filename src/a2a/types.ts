/**
 * The A2A objects as Hearth handles them, whatever protocol version is on the wire: one shape for
 * messages, parts, artifacts, tasks and stream events (close to v1.0, with v0.3's lowercase states
 * and roles). wire.ts converts to and from what each protocol version sends.
 */

/** The protocol versions served and spoken: v0.3 (`message/send`, `kind` fields) and v1.0 (`SendMessage`, `TASK_STATE_*`). */
export type A2AProtocolVersion = "0.3" | "1.0";

/** Where a task is. Terminal states never change; `input-required` and `auth-required` wait for the client. */
export type A2ATaskState = "submitted" | "working" | "input-required" | "auth-required" | "completed" | "failed" | "canceled" | "rejected";

/** States after which a task never changes again. */
export const TERMINAL_STATES: ReadonlySet<A2ATaskState> = new Set(["completed", "failed", "canceled", "rejected"]);

/** States in which a task waits for the client (a stream ends there, a blocking send returns). */
export const INTERRUPTED_STATES: ReadonlySet<A2ATaskState> = new Set(["input-required", "auth-required"]);

/** A task in this state ends a stream and a blocking send: terminal or waiting for the client. */
export function isFinalState(state: A2ATaskState): boolean {
  return TERMINAL_STATES.has(state) || INTERRUPTED_STATES.has(state);
}

/** One piece of content: exactly one of `text`, `data`, `url` or `raw` (base64). */
export interface A2APart {
  text?: string;
  /** Any JSON value. */
  data?: unknown;
  /** A file by reference. */
  url?: string;
  /** A file inline, base64-encoded. */
  raw?: string;
  mediaType?: string;
  filename?: string;
  metadata?: Record<string, unknown>;
}

/** One turn of the conversation: from the client (`user`) or from the agent. */
export interface A2AMessage {
  messageId: string;
  role: "user" | "agent";
  parts: A2APart[];
  taskId?: string;
  contextId?: string;
  metadata?: Record<string, unknown>;
  referenceTaskIds?: string[];
  extensions?: string[];
}

/** An output of a task. */
export interface A2AArtifact {
  artifactId: string;
  name?: string;
  description?: string;
  parts: A2APart[];
  metadata?: Record<string, unknown>;
  extensions?: string[];
}

export interface A2ATaskStatus {
  state: A2ATaskState;
  message?: A2AMessage;
  /** ISO 8601, milliseconds, UTC. */
  timestamp: string;
}

/** A task as stored and returned. */
export interface A2ATask {
  id: string;
  contextId: string;
  status: A2ATaskStatus;
  artifacts: A2AArtifact[];
  /** The client's messages and the agent's answers, oldest first. */
  history: A2AMessage[];
  metadata?: Record<string, unknown>;
  createdAt: string;
  lastModified: string;
}

/** One item of a stream (or of a task's event log). */
export type A2AStreamEvent =
  | { kind: "task"; task: A2ATask }
  | { kind: "message"; message: A2AMessage }
  | { kind: "status"; taskId: string; contextId: string; status: A2ATaskStatus; final: boolean; metadata?: Record<string, unknown> }
  | { kind: "artifact"; taskId: string; contextId: string; artifact: A2AArtifact; append: boolean; lastChunk: boolean; metadata?: Record<string, unknown> };

/** An artifact as an executor emits it: the id is generated when missing, `text` is a shorthand for one text part. */
export interface A2AArtifactInput {
  artifactId?: string;
  name?: string;
  description?: string;
  parts?: A2APart[];
  text?: string;
  metadata?: Record<string, unknown>;
}

/**
 * What an executor reports:
 * - `{ status }` moves the task (a `working` message is progress: streamed and logged, not kept in history);
 * - `{ artifact }` adds an output (`append` adds parts to the artifact with the same id);
 * - `{ message }` is an answer from the agent, kept in the task's history.
 */
export type A2AUpdate =
  | { status: A2ATaskState; message?: string | A2AMessage }
  | { artifact: A2AArtifactInput; append?: boolean; lastChunk?: boolean }
  | { message: string | A2AMessage };

/** What an executor gets besides the message. */
export interface A2AExecutionContext {
  /** The agent serving the endpoint (its storage, env and sub-agents). */
  readonly agent: object;
  readonly taskId: string;
  readonly contextId: string;
  /** Aborted when the task is canceled. */
  readonly signal: AbortSignal;
  /** The task's history before this message, oldest first. */
  readonly history: readonly A2AMessage[];
  /**
   * True when the task was running or waiting for input when the host stopped, and this call goes on
   * with it (the task's history tells what happened before).
   */
  readonly resumed: boolean;
  /** Reports progress, an artifact or an answer. Ignored once the task is in a terminal state. */
  emit(update: A2AUpdate): void;
  /**
   * Moves the task to `input-required` with `prompt`; resolves with the client's next message on the
   * task. Rejects when the task is canceled. If the host restarts meanwhile, the next message calls
   * the executor again (with `resumed: true`).
   */
  requireInput(prompt?: string | A2AMessage): Promise<A2AMessage>;
}

/**
 * What an A2A endpoint runs for a client's message. Resolving completes the task (unless it emitted
 * a terminal status itself), throwing fails it with the error's message.
 * @example
 * const echo: A2AExecutor = async (message, ctx) => {
 *   ctx.emit({ artifact: { name: "echo", text: message.parts.map((p) => p.text ?? "").join("") } });
 * };
 */
export type A2AExecutor = (message: A2AMessage, context: A2AExecutionContext) => Promise<void> | void;

/** A skill on the agent card. */
export interface A2ASkill {
  id: string;
  name: string;
  description: string;
  tags: string[];
  examples?: string[];
  inputModes?: string[];
  outputModes?: string[];
}

/** What you say about the agent; the endpoint adds its URL, protocol versions and capabilities. */
export interface A2ACardInput {
  name: string;
  description: string;
  /** The agent's own version. Default "1.0.0". */
  version?: string;
  provider?: { organization: string; url: string };
  documentationUrl?: string;
  iconUrl?: string;
  skills?: A2ASkill[];
  /** Media types accepted. Default `["text/plain"]`. */
  defaultInputModes?: string[];
  /** Media types produced. Default `["text/plain"]`. */
  defaultOutputModes?: string[];
  /** OpenAPI-style security schemes, published as given. */
  securitySchemes?: Record<string, unknown>;
  /** Security requirements, published as given (`security` in v0.3, `securityRequirements` in v1.0). */
  securityRequirements?: Array<Record<string, unknown>>;
  /** Extensions the agent supports. */
  extensions?: Array<{ uri: string; description?: string; required?: boolean; params?: Record<string, unknown> }>;
}

/** The agent card as served: the v1.0 shape plus v0.3's top-level `url`, `protocolVersion` and `preferredTransport`. */
export interface A2AAgentCard {
  name: string;
  description: string;
  version: string;
  supportedInterfaces: Array<{ url: string; protocolBinding: string; protocolVersion: string }>;
  capabilities: { streaming?: boolean; pushNotifications?: boolean; extendedAgentCard?: boolean; extensions?: unknown[] };
  defaultInputModes: string[];
  defaultOutputModes: string[];
  skills: A2ASkill[];
  /** v0.3: the endpoint. */
  url: string;
  /** v0.3: the protocol version of `url`. */
  protocolVersion: string;
  preferredTransport?: string;
  additionalInterfaces?: Array<{ url: string; transport: string }>;
  supportsAuthenticatedExtendedCard?: boolean;
  [key: string]: unknown;
}

/** A push notification target of a task. */
export interface A2APushConfig {
  id: string;
  url: string;
  /** Sent back in the `X-A2A-Notification-Token` header, for the receiver to check. */
  token?: string;
  /** Sent as `Authorization: <scheme> <credentials>`. */
  authentication?: { scheme: string; credentials?: string };
}
