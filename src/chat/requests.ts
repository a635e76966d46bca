/**
 * A client's chat request (`cf_agent_use_chat_request`), from the frame to a queued turn: its
 * messages checked and stored, then admitted under `messageConcurrency` (submit-policy.ts). Under
 * "merge" the messages of the requests still waiting are merged with this one's; under "debounce"
 * the turn, once at the front of the queue, waits for a quiet period and steps aside for a newer
 * request that comes meanwhile.
 */
import type { UIMessage } from "ai";
import type { Connection } from "../agent/connection.ts";
import type { RequestContext } from "./context-store.ts";
import { CHAT_FRAMES, chatFrames, type ChatFrame } from "./frames.ts";
import type { ChatLimits } from "./limits.ts";
import { mergeIncoming, type ClientMessagesCheck } from "./merge.ts";
import { ConversationTooLargeError, type MessageStore } from "./message-store.ts";
import { mergeTrailingUserMessages, submitPolicy, supersedes, type MessageConcurrency } from "./submit-policy.ts";
import { originMessageIds } from "./tool-parts.ts";
import type { TurnQueue, TurnJob } from "./turn-queue.ts";
import type { TurnSpec } from "./turn-runner.ts";
import type { ChatResponseResult } from "./types.ts";
import { validateMessages } from "./validate.ts";
import { setTimeout } from "node:timers"; // the runtime's own: never an actor's timer (host/actor-timers.ts)

/** What request admission needs from the engine. */
export interface RequestHost<M extends UIMessage> {
  readonly messages: MessageStore<M>;
  readonly queue: TurnQueue;
  limits(): ChatLimits;
  keepLast(): number | undefined;
  concurrency(): MessageConcurrency;
  checkClient(messages: M[], acceptNew: boolean): ClientMessagesCheck<M>;
  /** Messages new to the store, cleaned for storage. */
  sanitizeNew(messages: readonly M[]): M[];
  saveContext(context: RequestContext): void;
  broadcast(frame: string, exceptId?: string): void;
  turn(spec: TurnSpec, signal: AbortSignal): Promise<ChatResponseResult<M>>;
  /** A request refused before its turn (`chat:request:failed`): bad messages, or they could not be stored. */
  failed(requestId: string, stage: "parse" | "persist", error: string): void;
}

type RequestFrame = Extract<ChatFrame, { type: typeof CHAT_FRAMES.request }>;

export async function admitRequest<M extends UIMessage>(host: RequestHost<M>, connection: Connection, frame: RequestFrame): Promise<void> {
  const { id, request } = frame;
  const fail = (error: string, stage: "parse" | "persist" = "parse") => {
    host.failed(id, stage, error);
    connection.send(chatFrames.response({ id, body: `${CHAT_FRAMES.request}: ${error}`, done: true, error: true, outcome: "error" }));
  };
  const limits = host.limits();
  const checked = await validateMessages<M>(request.messages, limits);
  if (!checked.ok) return fail(checked.error);
  if (checked.messages.length === 0) return fail("a chat request needs at least one message");
  const allowed = host.checkClient(checked.messages, true);
  if (!allowed.ok) return fail(allowed.error);
  const { queue } = host;
  const policy = submitPolicy(host.concurrency(), request.trigger);
  const overlapping = queue.busy;
  if (policy.kind === "drop" && overlapping) {
    // Refused before anything is stored: the request ends, then the sender gets the stored
    // conversation back (dropping its optimistic message).
    connection.send(chatFrames.response({ id, body: "", done: true, outcome: "skipped" }));
    connection.send(chatFrames.messages(host.messages.list));
    return;
  }
  // Under "latest", "merge" and "debounce" the waiting requests make way for this one; other waiting jobs stay.
  const waitingRequests = queue.waiting.filter((job) => job.kind === "request");
  const ahead = supersedes(policy) ? queue.waiting.length - waitingRequests.length : queue.waiting.length;
  if (ahead >= limits.maxQueuedTurns) {
    return fail(`${ahead} turns are already waiting; the limit is ${limits.maxQueuedTurns} (maxQueuedTurns)`);
  }
  let incoming = host.sanitizeNew(mergeIncoming(allowed.messages, host.messages.list, request.trigger === "regenerate-message"));
  let merged = false;
  const known = new Set(host.messages.list.map((message) => message.id));
  const added = incoming.filter((message) => message.role === "user" && !known.has(message.id)).map((message) => message.id);
  if (policy.kind === "merge" && overlapping && waitingRequests.length > 0) {
    // Only the messages the waiting requests and this one added: what a running turn answers stays.
    const ids = new Set([...waitingRequests.flatMap((job) => job.addedMessageIds ?? []), ...added]);
    const next = mergeTrailingUserMessages(incoming, ids);
    merged = next.length !== incoming.length;
    incoming = next;
  }
  try {
    host.messages.replaceAll(incoming, host.keepLast());
  } catch (error) {
    if (error instanceof ConversationTooLargeError) return fail(error.message, "persist");
    throw error;
  }
  host.saveContext({ body: request.body, clientTools: request.clientTools });
  // A merge changed what the sender shows too.
  host.broadcast(chatFrames.messages(host.messages.list), merged ? undefined : connection.id);
  const spec: TurnSpec = {
    requestId: id,
    continuation: false,
    originId: connection.id,
    // From what the sender sent, as the Agents SDK does: messages stored meanwhile by other
    // clients are not this request's, and a merge folds some of the sender's into one.
    messageIds: originMessageIds(checked.messages),
    body: request.body,
    clientTools: request.clientTools,
    trigger: request.trigger,
    admission: policy.kind,
  };
  const skip = (outcome: "aborted" | "skipped") => connection.send(chatFrames.response({ id, body: "", done: true, messageIds: spec.messageIds, outcome }));
  // Debounced only when it overlaps: a message to an idle agent is answered at once.
  const quiet = policy.kind === "debounce" && overlapping ? new QuietPeriod(policy.debounceMs) : undefined;
  const job: TurnJob = {
    id,
    kind: "request",
    addedMessageIds: merged ? [incoming.at(-1)!.id] : added,
    run: async (signal) => {
      if (quiet && !(await quiet.wait(signal))) return skip(signal.aborted ? "aborted" : "skipped");
      await host.turn(spec, signal);
    },
    skip: (reason) => skip(reason === "cancelled" ? "aborted" : "skipped"),
    ...(quiet ? { preempt: () => quiet.preempt() } : {}),
  };
  const admission = queue.add(job, policy);
  if (admission === "dropped") job.skip("dropped");
  if (admission === "full") fail(`too many turns are waiting; the limit is ${limits.maxQueuedTurns} (maxQueuedTurns)`);
}

/**
 * The trailing-edge wait of a debounced request: `debounceMs` from its arrival, in real time. A
 * newer request preempts it while it waits; once the wait is over the turn is its own.
 */
class QuietPeriod {
  readonly #until: number;
  readonly #preempted = new AbortController();
  #started = false;

  constructor(debounceMs: number) {
    this.#until = performance.now() + debounceMs;
  }

  /** True once the quiet period passed; false when preempted or cancelled first. */
  async wait(signal: AbortSignal): Promise<boolean> {
    const left = this.#until - performance.now();
    if (left > 0 && !signal.aborted && !this.#preempted.signal.aborted) {
      const stop = AbortSignal.any([signal, this.#preempted.signal]);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done() {
          clearTimeout(timer);
          stop.removeEventListener("abort", done);
          resolve();
        }
        stop.addEventListener("abort", done, { once: true });
      });
    }
    if (signal.aborted || this.#preempted.signal.aborted) return false;
    this.#started = true;
    return true;
  }

  preempt(): boolean {
    if (this.#started) return false;
    this.#preempted.abort();
    return true;
  }
}
