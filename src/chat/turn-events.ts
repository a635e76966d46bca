/**
 * The `agents:chat` diagnostics events of a chat agent's turns and of their recovery, with the
 * Agents SDK's names and payloads (see docs/observability/events.md). Builders run only when
 * someone listens (`emitAgentEvent`), so an agent nobody observes pays a closure per turn at most.
 */
import { emitAgentEvent } from "../events/index.ts";
import type { ChatRecoveryKind } from "./recovery-types.ts";
import type { TurnSpec } from "./turn-runner.ts";

/**
 * What started a turn, in the SDK's words where Hearth has the same thing:
 * - `"submit-message"` / `"regenerate-message"`: a client's chat request (the AI SDK's `trigger`);
 * - `"auto-continuation"`: the continuation after a client's tool result or approval;
 * - `"programmatic"`: `saveMessages` and `continueLastTurn` (an agent-tool run is a `saveMessages`);
 * - `"recovery-continue"` / `"recovery-retry"`: the turn that continues or retries one a restart cut short.
 */
export type TurnTrigger = "submit-message" | "regenerate-message" | "auto-continuation" | "programmatic" | "recovery-continue" | "recovery-retry";

/**
 * How the turn was admitted to the queue: the `messageConcurrency` strategy a client's new
 * message was subject to (`"queue"`, `"latest"`, `"merge"`, `"drop"`, `"debounce"`), `"queue"`
 * for everything else (regenerations, continuations, `saveMessages` and recoveries always queue).
 */
export type TurnAdmission = "queue" | "latest" | "merge" | "drop" | "debounce";

/** The fields every recovery event carries. */
export interface RecoveryEventFields {
  incidentId: string;
  /** The request of the attempt a restart cut short. */
  requestId: string;
  attempt: number;
  maxAttempts: number;
  recoveryKind: ChatRecoveryKind;
}

/** Every `chat:recovery:*` event. */
export type RecoveryEventType = "chat:recovery:detected" | "chat:recovery:scheduled" | "chat:recovery:attempt" | "chat:recovery:exhausted" | RecoveryOutcome;

/** The recovery events that end an attempt. */
export type RecoveryOutcome = "chat:recovery:completed" | "chat:recovery:skipped" | "chat:recovery:failed";

/**
 * Emits `chat:turn:start` for `spec` and returns what emits its `chat:turn:finish`.
 * @example
 * const finish = emitTurnStart(agent, spec, generation);
 * finish(await runTurn(host, spec, signal));
 */
export function emitTurnStart(agent: object, spec: TurnSpec, generation: number): (result: { status: string; error?: string }) => void {
  const started = performance.now();
  const fields = () => ({
    requestId: spec.requestId,
    trigger: spec.trigger ?? (spec.continuation ? "auto-continuation" : "programmatic"),
    admission: spec.admission ?? "queue",
    continuation: spec.continuation,
    generation,
  });
  emitAgentEvent(agent, "chat:turn:start", fields);
  return (result) =>
    emitAgentEvent(agent, "chat:turn:finish", () => ({
      ...fields(),
      status: result.status,
      durationMs: Math.round(performance.now() - started),
      ...(result.error !== undefined ? { error: result.error } : {}),
    }));
}

/**
 * Emits one recovery event; `reason` goes with the events that have one.
 * @example
 * emitRecoveryEvent(agent, "chat:recovery:exhausted", fields, "max_attempts_exceeded");
 */
export function emitRecoveryEvent(agent: object, type: RecoveryEventType, fields: RecoveryEventFields, reason?: string): void {
  const withReason = type === "chat:recovery:skipped" || type === "chat:recovery:failed" || type === "chat:recovery:exhausted";
  emitAgentEvent(agent, type, () => ({ ...fields, ...(withReason && reason !== undefined ? { reason } : {}) }) as RecoveryEventFields & { reason: string });
}

/** The recovery event of a recovery turn that ended: completed, failed with its error, or skipped (aborted). */
export function recoveryOutcome(result: { status: string; error?: string }, event: (type: RecoveryEventType, reason?: string) => void): void {
  if (result.status === "completed") event("chat:recovery:completed");
  else if (result.status === "error") event("chat:recovery:failed", result.error);
  else event("chat:recovery:skipped", result.status);
}

/**
 * `chat:request:failed`: a chat request that ended in an error — refused before its turn (`parse`),
 * its messages or reply not stored (`persist`), the reply function threw (`turn`) or its stream failed
 * (`stream`). `messagesPersisted` tells whether the request's messages were stored.
 */
export function emitRequestFailed(agent: object, requestId: string, stage: "parse" | "persist" | "turn" | "stream", error: string): void {
  emitAgentEvent(agent, "chat:request:failed", () => ({ requestId, stage, messagesPersisted: stage === "turn" || stage === "stream", error }));
}
