/**
 * Turns started by the agent's own code: `saveMessages` (a list stored now, or a function of the
 * conversation applied when the turn starts), `continueLastTurn` (the last answer continued, no new
 * user message), both cancellable from outside with an `AbortSignal`; and the coordination helpers
 * `waitUntilStable` and `hasPendingInteraction`.
 */
import { generateId, type UIMessage } from "ai";
import type { RequestContext } from "./context-store.ts";
import type { MessageStore } from "./message-store.ts";
import { originMessageIds } from "./tool-parts.ts";
import type { TurnQueue } from "./turn-queue.ts";
import type { TurnSpec } from "./turn-runner.ts";
import type { ChatResponseResult, SaveMessagesOptions, SaveMessagesResult } from "./types.ts";

export interface ProgrammaticHost<M extends UIMessage> {
  readonly messages: MessageStore<M>;
  readonly queue: TurnQueue;
  /** Bumped by a clear: a turn that was running or waiting then reports "skipped". */
  generation(): number;
  context(): RequestContext;
  saveContext(context: RequestContext): void;
  /** Validates, cleans, stores (each by its id, new ones appended) and broadcasts `messages`. */
  persist(messages: M[]): Promise<void>;
  turn(spec: TurnSpec, signal: AbortSignal): Promise<ChatResponseResult<M>>;
}

export class ProgrammaticTurns<M extends UIMessage> {
  readonly #host: ProgrammaticHost<M>;

  constructor(host: ProgrammaticHost<M>) {
    this.#host = host;
  }

  /** `observe` gets every chunk the turn streams, as JSON (agent-tool runs record them). */
  async save(input: M[] | ((current: M[]) => M[]), options: SaveMessagesOptions = {}, observe?: (body: string) => void): Promise<SaveMessagesResult> {
    const requestId = generateId();
    checkSignal("saveMessages", options.signal);
    if (options.signal?.aborted) return { requestId, status: "aborted" };
    const host = this.#host;
    // A list is stored now (it was built from the conversation now); a function sees the
    // conversation as it is when the turn starts, after the turns queued before it.
    if (Array.isArray(input)) await host.persist(input);
    else if (typeof input !== "function") throw new TypeError("saveMessages: pass an array of UI messages or a function of the current ones");
    const spec: TurnSpec = {
      requestId,
      continuation: false,
      originId: undefined,
      messageIds: originMessageIds(host.messages.list),
      ...host.context(),
      trigger: "programmatic",
      ...(observe ? { observe } : {}),
    };
    return this.#enqueue(spec, options.signal, async () => {
      if (typeof input === "function") {
        await host.persist(input([...host.messages.list]));
        spec.messageIds = originMessageIds(host.messages.list);
      }
      return true;
    });
  }

  async continueLast(body: Record<string, unknown> | undefined, options: SaveMessagesOptions = {}): Promise<SaveMessagesResult> {
    checkSignal("continueLastTurn", options.signal);
    if (body !== undefined && (typeof body !== "object" || body === null || Array.isArray(body))) throw new TypeError("continueLastTurn: body must be an object");
    const host = this.#host;
    if (host.messages.list.at(-1)?.role !== "assistant") return { requestId: "", status: "skipped" };
    const requestId = generateId();
    if (options.signal?.aborted) return { requestId, status: "aborted" };
    const context = host.context();
    // The body merges into the last request's; later continuations get the merged one too.
    const merged = body === undefined ? context.body : { ...context.body, ...body };
    if (body !== undefined) host.saveContext({ ...context, body: merged });
    const spec: TurnSpec = { requestId, continuation: true, originId: undefined, messageIds: undefined, body: merged, clientTools: context.clientTools, trigger: "programmatic" };
    return this.#enqueue(spec, options.signal, () => Promise.resolve(host.messages.list.at(-1)?.role === "assistant"));
  }

  /**
   * True once no turn runs or waits and no tool call waits for a person; false when `timeout`
   * (milliseconds) passes first. Without a timeout it may wait for ever (an approval never given).
   */
  async waitUntilStable(timeout?: number): Promise<boolean> {
    if (timeout !== undefined && (typeof timeout !== "number" || Number.isNaN(timeout) || timeout < 0)) {
      throw new RangeError(`waitUntilStable: timeout must be a number of milliseconds >= 0, got ${String(timeout)}`);
    }
    const deadline = timeout === undefined ? undefined : performance.now() + timeout;
    const { queue } = this.#host;
    for (;;) {
      if (!(await within(queue.idle(), deadline))) return false;
      if (!this.hasPendingInteraction()) return true;
      // Only a tool result or an approval (queued like a turn) can end the wait.
      if (!(await within(queue.added(), deadline))) return false;
    }
  }

  /** An assistant message has a tool call waiting for a result (`input-available`) or an approval. */
  hasPendingInteraction(): boolean {
    return this.#host.messages.list.some(
      (message) =>
        message.role === "assistant" &&
        message.parts.some((part) => {
          const state = (part as { state?: unknown }).state;
          return (part.type.startsWith("tool-") || part.type === "dynamic-tool") && (state === "input-available" || state === "approval-requested");
        }),
    );
  }

  /** Queues a programmatic turn; `prepare` runs when it starts (false: skipped). */
  #enqueue(spec: TurnSpec, external: AbortSignal | undefined, prepare: () => Promise<boolean>): Promise<SaveMessagesResult> {
    const host = this.#host;
    const { requestId } = spec;
    const generation = host.generation();
    // Aborted while its messages were being stored: it never queues.
    if (external?.aborted) return Promise.resolve({ requestId, status: "aborted" });
    return new Promise((resolve, reject) => {
      const onAbort = () => host.queue.cancel(requestId);
      external?.addEventListener("abort", onAbort, { once: true });
      const settle = (result: SaveMessagesResult | Error) => {
        external?.removeEventListener("abort", onAbort);
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      const admission = host.queue.add({
        id: requestId,
        kind: "programmatic",
        run: async (signal) => {
          try {
            if (signal.aborted) return settle({ requestId, status: "aborted" });
            if (!(await prepare())) return settle({ requestId, status: "skipped" });
            const result = await host.turn(spec, signal);
            if (host.generation() !== generation) return settle({ requestId, status: "skipped" });
            settle({ requestId, status: result.status, ...(result.error !== undefined ? { error: result.error } : {}) });
          } catch (error) {
            settle(error instanceof Error ? error : new Error(String(error)));
          }
        },
        skip: (reason) => settle({ requestId, status: reason === "cancelled" ? "aborted" : "skipped" }),
      });
      if (admission !== "accepted") settle({ requestId, status: "skipped" });
    });
  }
}

function checkSignal(api: string, signal: unknown): void {
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new TypeError(`${api}: options.signal must be an AbortSignal`);
}

/** Resolves true when `promise` settles before `deadline` (performance.now() time), false after it. */
async function within(promise: Promise<void>, deadline: number | undefined): Promise<boolean> {
  if (deadline === undefined) {
    await promise;
    return true;
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - performance.now()));
  });
  try {
    return await Promise.race([promise.then(() => true as const), expired]);
  } finally {
    clearTimeout(timer);
  }
}
