/**
 * Recovery of a chat turn a restart or a crash cut short (`chatRecovery`). With recovery on, every
 * turn runs in a fiber (see engine.ts); the fiber's row makes the host wake the agent by itself
 * after a crash, and at start-up the fiber layer hands the interrupted turn here, before onStart:
 *
 * 1. the partial answer is rebuilt from the stored chunks; the recovery kind is "continue" (there is
 *    a partial, or the turn was continuing an answer) or "retry" (the user's message is unanswered);
 * 2. the incident's budgets are checked (attempts without progress, time without progress, work
 *    since the first interruption, `shouldKeepRecovering`): past them recovery is given up — the
 *    partial is kept, `onExhausted` runs, clients get an error frame with `terminalMessage`;
 * 3. a turn waiting on a person (an approval, a client tool) is parked: its partial is stored and
 *    the person's answer continues it as usual;
 * 4. otherwise `onChatRecovery(ctx)` decides: store the partial (default; settled tool results are
 *    always stored), and continue (default): a continuation of the answer, or the turn again.
 *
 * The interrupted request ends with outcome "recovering" and `cf_agent_chat_recovering` says a
 * recovery is under way until the chain's last turn ends. Clients that connect meanwhile are told.
 */
import { generateId, type UIMessage, type UIMessageChunk } from "ai";
import { messageOf } from "../agent/rpc.ts";
import { chatFrames } from "./frames.ts";
import { ConversationTooLargeError, type MessageStore } from "./message-store.ts";
import type { RecoveryStore, Incident, DurableTurn } from "./recovery-store.ts";
import type { ChatRecoveryContext, ChatRecoveryKind, ChatRecoveryOptions, MessagePart, ResolvedChatRecoveryConfig } from "./recovery-types.ts";
import type { StreamStore } from "./stream-store.ts";
import { awaitsClient } from "./tool-parts.ts";
import { assembleStored, clientToolNames, type TurnSpec } from "./turn-runner.ts";
import type { ChatResponseResult } from "./types.ts";
import type { RecoveryEventFields, RecoveryEventType } from "./turn-events.ts";
import type { RequestContext } from "./context-store.ts";

/** Chat turns' fibers are named `hearth:chat-turn:<request id>`. */
export const CHAT_FIBER_PREFIX = "hearth:chat-turn:";

/** Chunks that mark forward progress: a new text, reasoning or tool segment, or a tool's result. */
const PROGRESS_CHUNKS = new Set(["text-start", "reasoning-start", "tool-input-available", "tool-output-available", "tool-output-error", "tool-output-denied"]);

/** The interrupted fiber, as the fiber layer hands it over. */
export interface InterruptedFiber {
  name: string;
  snapshot: unknown;
  createdAt: number;
}

export interface RecoveryHost<M extends UIMessage> {
  readonly messages: MessageStore<M>;
  readonly streams: StreamStore;
  readonly store: RecoveryStore;
  config(): ResolvedChatRecoveryConfig | undefined;
  now(): number;
  context(): RequestContext;
  keepLast(): number | undefined;
  sanitize(message: M): M;
  /** The agent's onChatRecovery. */
  hook(ctx: ChatRecoveryContext): Promise<ChatRecoveryOptions | void> | ChatRecoveryOptions | void;
  /** onChatResponse, for a turn recovery ends here. */
  responded(result: ChatResponseResult<M>): void;
  report(error: unknown): void;
  broadcast(frame: string): void;
  /** Queues the turn that continues (or retries) the interrupted one; `attempt` names it in the recovery events. */
  schedule(spec: TurnSpec, kind: ChatRecoveryKind, attempt: RecoveryEventFields): void;
  /** These tool calls of the stored partial answer of `requestId` were settled (`chat:transcript:repaired`). */
  repaired(requestId: string, toolCallIds: readonly string[]): void;
  /** Emits a `chat:recovery:*` event. */
  event(type: RecoveryEventType, fields: RecoveryEventFields, reason?: string): void;
  /** The settling of a stream a restart cut short when recovery is off (replayed, ended as interrupted). */
  settleInterrupted(requestId: string): Promise<void>;
}

type Verdict = { kind: "recover"; incident: Incident } | { kind: "exhausted"; incident: Incident; reason: string } | { kind: "park"; incident: Incident };

export class ChatRecovery<M extends UIMessage> {
  readonly #host: RecoveryHost<M>;

  constructor(host: RecoveryHost<M>) {
    this.#host = host;
  }

  /** The recovering frame for a connection that joins while a recovery is under way, or undefined. */
  announcement(): string | undefined {
    const incident = this.#host.store.current();
    return incident && chatFrames.recovering(true, incident.requestId);
  }

  /** Handles a chat turn's interrupted fiber; false for any other fiber. */
  async recover(fiber: InterruptedFiber): Promise<boolean> {
    if (!fiber.name.startsWith(CHAT_FIBER_PREFIX)) return false;
    const host = this.#host;
    const requestId = fiber.name.slice(CHAT_FIBER_PREFIX.length);
    const turn = host.store.turn(requestId);
    // No row: the turn ended, or the conversation was cleared, before the process did.
    if (!turn) return true;
    const config = host.config();
    const stored = host.streams.current();
    const streaming = stored?.requestId === requestId && stored.status === "streaming";
    if (!config) {
      // Recovery was turned off since: the partial answer is settled as it is without recovery.
      if (streaming) await host.settleInterrupted(requestId);
      host.store.end(requestId);
      return true;
    }
    const context = host.context();
    const clientTools = clientToolNames(context.clientTools);
    const chunks = streaming ? [...host.streams.chunks(requestId)] : [];
    // The parts as streamed (a tool call cut short is not settled work), for the hook and the persist rule.
    const partialParts = ((await assembleStored<M>(chunks, undefined, clientTools, false))?.parts ?? []) as MessagePart[];
    const base = streaming && stored.baseId !== undefined ? host.messages.find(stored.baseId) : undefined;
    let repaired: string[] = [];
    const assembled = chunks.length > 0 ? await assembleStored<M>(chunks, base, clientTools, true, (ids) => (repaired = ids)) : undefined;
    const partial = assembled && assembled.parts.length > 0 ? host.sanitize(assembled) : undefined;
    const last = host.messages.list.at(-1);
    const kind: ChatRecoveryKind = partialParts.length > 0 || last?.role === "assistant" ? "continue" : "retry";
    const progress = chunks.reduce((count, body) => count + (PROGRESS_CHUNKS.has(chunkType(body)) ? 1 : 0), 0);
    const waiting = awaitsClient(partial ?? last);
    const detected = host.store.incident(turn.rootRequestId) === undefined;
    const verdict = await this.#judge(turn, kind, progress, waiting, config);
    const { incident } = verdict;
    const fields: RecoveryEventFields = { incidentId: incident.incidentId, requestId, attempt: incident.attempt, maxAttempts: config.maxAttempts, recoveryKind: kind };
    if (detected) host.event("chat:recovery:detected", fields);
    host.event("chat:recovery:attempt", fields);
    try {
      const partialText = partialParts.map((part) => (part.type === "text" ? part.text : "")).join("");
      const facts = { streamId: streaming ? requestId : "", requestId, partialText, partialParts, createdAt: fiber.createdAt };
      const anchorId = streaming ? stored.anchorId : undefined;

      if (verdict.kind === "exhausted") {
        const ctx = { ...facts, incidentId: incident.incidentId, recoveryRootRequestId: incident.rootRequestId, attempt: incident.attempt, maxAttempts: config.maxAttempts, recoveryKind: kind, reason: verdict.reason, terminalMessage: config.terminalMessage };
        // As in the SDK: the event first, then the hook, then what the clients see.
        host.event("chat:recovery:exhausted", fields, verdict.reason);
        try {
          await config.onExhausted?.(ctx);
        } catch (error) {
          host.report(new Error(`chatRecovery.onExhausted failed: ${messageOf(error)}`, { cause: error }));
        }
        const message = this.#keep(partial, anchorId, requestId, repaired);
        host.broadcast(chatFrames.response({ id: requestId, body: config.terminalMessage, done: true, error: true, continuation: turn.continuation, messageIds: turn.messageIds, outcome: "error" }));
        this.#close(turn, incident);
        host.responded({ requestId, status: "error", message, continuation: turn.continuation, error: config.terminalMessage });
        return true;
      }
      if (verdict.kind === "park") {
        const message = this.#keep(partial, anchorId, requestId, repaired);
        host.broadcast(chatFrames.response({ id: requestId, body: "", done: true, continuation: turn.continuation, messageIds: turn.messageIds, outcome: "completed" }));
        this.#close(turn, incident);
        host.event("chat:recovery:skipped", fields, "awaiting_client_interaction");
        host.responded({ requestId, status: "completed", message, continuation: turn.continuation });
        return true;
      }

      const options =
        (await host.hook({
          ...facts,
          incidentId: incident.incidentId,
          recoveryRootRequestId: incident.rootRequestId,
          attempt: incident.attempt,
          maxAttempts: config.maxAttempts,
          recoveryKind: kind,
          recoveryData: fiber.snapshot ?? null,
          messages: [...host.messages.list],
          ...(context.body !== undefined ? { lastBody: context.body } : {}),
          ...(context.clientTools !== undefined ? { lastClientTools: context.clientTools } : {}),
        })) ?? {};
      // Settled tool results are work done (often not to be done twice): kept whatever the hook says.
      const persist = options.persist !== false || partialParts.some(isSettledTool);
      const message = persist ? this.#keep(partial, anchorId, requestId, repaired) : this.#drop(requestId);
      if (options.continue === false) {
        host.broadcast(chatFrames.response({ id: requestId, body: "", done: true, continuation: turn.continuation, messageIds: turn.messageIds, outcome: "aborted" }));
        this.#close(turn, incident);
        host.event("chat:recovery:skipped", fields, "continue_declined");
        host.responded({ requestId, status: "aborted", message, continuation: turn.continuation });
        return true;
      }
      const announced = host.store.incident(incident.rootRequestId) !== undefined;
      // Without the partial, a fresh answer has nothing to continue: the user's message is answered again.
      const next = host.messages.list.at(-1)?.role === "assistant" ? "continue" : "retry";
      host.store.save(incident);
      host.store.end(requestId);
      host.broadcast(chatFrames.response({ id: requestId, body: "", done: true, continuation: turn.continuation, messageIds: turn.messageIds, outcome: "recovering" }));
      if (!announced) host.broadcast(chatFrames.recovering(true, requestId));
      const spec: TurnSpec = {
        requestId: generateId(),
        continuation: next === "continue",
        originId: undefined,
        messageIds: turn.messageIds,
        ...context,
        rootRequestId: incident.rootRequestId,
        trigger: next === "continue" ? "recovery-continue" : "recovery-retry",
      };
      host.schedule(spec, next, { ...fields, recoveryKind: next });
      return true;
    } catch (error) {
      host.event("chat:recovery:failed", fields, messageOf(error));
      throw error;
    }
  }

  /** The incident after this interruption, and what to do with it. */
  async #judge(turn: DurableTurn, kind: ChatRecoveryKind, progress: number, waiting: boolean, config: ResolvedChatRecoveryConfig): Promise<Verdict> {
    const host = this.#host;
    const now = host.now();
    const existing = host.store.incident(turn.rootRequestId);
    if (!existing) {
      const incident: Incident = { incidentId: turn.rootRequestId, rootRequestId: turn.rootRequestId, requestId: turn.requestId, kind, attempt: 1, firstSeenAt: now, lastProgressAt: now, work: 0 };
      return waiting ? { kind: "park", incident } : { kind: "recover", incident };
    }
    const madeProgress = progress > 0;
    const incident: Incident = {
      ...existing,
      requestId: turn.requestId,
      kind,
      attempt: madeProgress ? 1 : existing.attempt + 1,
      lastProgressAt: madeProgress ? now : existing.lastProgressAt,
      work: existing.work + progress,
    };
    // A person may take hours to answer: no budget applies while the turn waits for one.
    if (waiting) return { kind: "park", incident };
    const reason =
      now - incident.lastProgressAt > config.noProgressTimeoutMs
        ? "no_progress_timeout"
        : incident.work > config.maxRecoveryWork
          ? "work_budget_exceeded"
          : incident.attempt > config.maxAttempts
            ? "max_attempts_exceeded"
            : undefined;
    if (reason) return { kind: "exhausted", incident, reason };
    if (config.shouldKeepRecovering) {
      try {
        const keep = await config.shouldKeepRecovering({
          incidentId: incident.incidentId,
          requestId: turn.requestId,
          recoveryRootRequestId: incident.rootRequestId,
          attempt: incident.attempt,
          maxAttempts: config.maxAttempts,
          recoveryKind: kind,
          work: incident.work,
          ageMs: now - incident.firstSeenAt,
        });
        if (keep === false) return { kind: "exhausted", incident, reason: "recovery_aborted" };
      } catch (error) {
        // A failing policy does not stop recovery; the budgets above still bound it.
        host.report(new Error(`chatRecovery.shouldKeepRecovering failed; recovery goes on: ${messageOf(error)}`, { cause: error }));
      }
    }
    return { kind: "recover", incident };
  }

  /** Stores the partial answer (if any) and ends the stored stream; returns the stored message. */
  #keep(partial: M | undefined, anchorId: string | undefined, requestId: string, repaired: readonly string[]): M | undefined {
    const host = this.#host;
    let kept = partial;
    if (kept) {
      try {
        host.messages.put(kept, anchorId, host.keepLast());
      } catch (error) {
        if (!(error instanceof ConversationTooLargeError)) throw error;
        host.report(new Error(`The partial answer of ${requestId} was not stored: ${error.message}`, { cause: error }));
        kept = undefined;
      }
    }
    this.#drop(requestId);
    if (kept) {
      host.repaired(requestId, repaired);
      host.broadcast(chatFrames.messages(host.messages.list));
    }
    return kept;
  }

  /** Ends the stored stream without keeping its partial answer. */
  #drop(requestId: string): undefined {
    const stored = this.#host.streams.current();
    if (stored?.requestId === requestId) this.#host.streams.finish(requestId);
    return undefined;
  }

  /** The turn's recovery ended here. */
  #close(turn: DurableTurn, incident: Incident): void {
    const host = this.#host;
    host.store.end(turn.requestId);
    if (host.store.close(incident.rootRequestId)) host.broadcast(chatFrames.recovering(false, turn.requestId));
  }
}

function chunkType(body: string): string {
  try {
    return String((JSON.parse(body) as UIMessageChunk).type);
  } catch {
    return "";
  }
}

/** A tool part whose call finished (output, error or denial): completed work. */
function isSettledTool(part: MessagePart): boolean {
  const record = part as Record<string, unknown>;
  const type = typeof record.type === "string" ? record.type : "";
  if (!type.startsWith("tool-") && type !== "dynamic-tool") return false;
  return record.state === "output-available" || record.state === "output-error" || record.state === "output-denied";
}
