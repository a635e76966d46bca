/**
 * The event shapes of the Agents SDK's `agents/observability` (agents@0.32): every event is
 * `{ type, agent, name, payload, timestamp }`, and each `type` has a fixed payload. Code written against
 * the SDK's types compiles against these.
 */

/** What every event carries. `agent` is the class name, `name` the instance name. */
export interface BaseEvent<T extends string, Payload extends object = Record<string, never>> {
  type: T;
  /** Class name of the agent that emitted the event (e.g. "MyChatAgent"). */
  agent?: string;
  /** Instance name the agent was addressed by. */
  name?: string;
  payload: Payload;
  /** Milliseconds since the epoch. */
  timestamp: number;
}

type Task = { callback: string; id: string };
type TaskRetry = Task & { attempt: number; maxAttempts: number };
type TaskError = Task & { error: string; attempts: number };
type Workflow = { workflowId: string; workflowName?: string };
type Decision = { workflowId: string; reason?: string };
type Fiber = { fiberId: string; fiberName: string; managed?: boolean };
type Recovery = { incidentId: string; requestId: string; attempt: number; maxAttempts: number; recoveryKind: "retry" | "continue" };
type Email = { from: string; to: string; subject?: string };

/** Payload of every event type, by type. */
export interface EventPayloads {
  // agents:state, agents:rpc
  "state:update": Record<string, never>;
  rpc: { method: string; streaming?: boolean };
  "rpc:error": { method: string; error: string };
  // agents:message
  "message:request": Record<string, never>;
  "message:response": Record<string, never>;
  "message:clear": Record<string, never>;
  "message:cancel": { requestId: string };
  "message:error": { error: string };
  "tool:result": { toolCallId: string; toolName: string };
  "tool:approval": { toolCallId: string; approved: boolean };
  // agents:schedule (schedules and the queue)
  "schedule:create": Task;
  "schedule:execute": Task;
  "schedule:cancel": Task;
  "schedule:retry": TaskRetry;
  "schedule:error": TaskError;
  "schedule:duplicate_warning": { callback: string; count: number; type: string };
  "queue:create": Task;
  "queue:retry": TaskRetry;
  "queue:error": TaskError;
  // agents:fiber
  "fiber:run:started": Fiber;
  "fiber:run:completed": Fiber & { elapsedMs?: number };
  "fiber:run:failed": Fiber & { error: string; elapsedMs?: number };
  "fiber:run:interrupted": Fiber & { elapsedMs?: number; recoveryReason: "interrupted" };
  "fiber:recovery:detected": Fiber & { elapsedMs?: number; recoveryReason: "interrupted" };
  "fiber:recovery:attempt": Fiber & { recoveryReason: "interrupted" };
  "fiber:recovery:handled": Fiber & { status?: string; elapsedMs?: number };
  "fiber:recovery:skipped": Fiber & { reason: string; elapsedMs?: number };
  "fiber:recovery:failed": { fiberId: string; fiberName: string; error: string; elapsedMs?: number; reason?: string };
  // agents:chat
  "chat:request:failed": {
    requestId?: string;
    stage: "parse" | "persist" | "turn" | "stream" | "recovery" | "transcript";
    messagesPersisted?: boolean;
    error: string;
  };
  "chat:turn:start": { requestId: string; trigger: string; admission: string; continuation?: boolean; generation?: number };
  "chat:turn:finish": {
    requestId: string;
    trigger: string;
    admission: string;
    continuation?: boolean;
    generation?: number;
    status: string;
    durationMs: number;
    error?: string;
  };
  "chat:recovery:detected": Recovery;
  "chat:recovery:scheduled": Recovery;
  "chat:recovery:attempt": Recovery;
  "chat:recovery:completed": Recovery;
  "chat:recovery:skipped": Recovery & { reason?: string };
  "chat:recovery:exhausted": Recovery & { reason: string };
  "chat:recovery:failed": Recovery & { reason?: string };
  "chat:stream:stalled": { requestId: string; timeoutMs: number };
  "chat:context:compacted": { reason: "proactive" | "reactive"; shortened: boolean; requestId?: string; attempt?: number };
  // agents:transcript
  "chat:transcript:repaired": { requestId?: string; removedToolCalls: number; normalizedInputs: number; toolCallIds?: string[] };
  // agents:lifecycle
  connect: { connectionId: string };
  disconnect: { connectionId: string; code: number; reason: string };
  destroy: Record<string, never>;
  // agents:email
  "email:receive": Email;
  "email:reply": Email;
  "email:send": { from: string; to: string | string[]; subject: string };
  // agents:workflow
  "workflow:start": Workflow;
  "workflow:event": { workflowId: string; eventType?: string };
  "workflow:approved": Decision;
  "workflow:rejected": Decision;
  "workflow:terminated": Workflow;
  "workflow:paused": Workflow;
  "workflow:resumed": Workflow;
  "workflow:restarted": Workflow;
  // agents:mcp
  "mcp:client:preconnect": { serverId: string };
  "mcp:client:connect": { url: string; transport: string; state: string; error?: string };
  "mcp:client:authorize": { serverId: string; authUrl: string; clientId?: string };
  "mcp:client:discover": { url?: string; state?: string; error?: string; capability?: string };
  "mcp:client:close": { url: string; transport?: string; state: string; error?: string; phase?: "terminate-session" | "client-close" };
}

/** Every event type Hearth knows. */
export type EventType = keyof EventPayloads;

/** The payload of one event type. */
export type PayloadOf<T extends EventType> = EventPayloads[T];

/** One event, discriminated by `type`. */
export type ObservabilityEvent = { [T in EventType]: BaseEvent<T, EventPayloads[T]> }[EventType];

/** Events of the MCP client (`mcp:*`), as the SDK names their union. */
export type MCPObservabilityEvent = Extract<ObservabilityEvent, { type: `mcp:${string}` }>;

/**
 * Where an agent's events go. The default publishes to the `agents:*` diagnostics channels; an agent
 * may set its own (say, to log) or `undefined` to emit nothing.
 * @example
 * class Quiet extends Agent { observability = undefined; }
 * class Logged extends Agent { observability = { emit: (event) => console.log(event.type, event.payload) }; }
 */
export interface Observability {
  emit(event: ObservabilityEvent): void;
}
