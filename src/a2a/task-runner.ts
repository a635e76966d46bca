/**
 * Tasks in motion: starting the executor for a message, recording what it emits (in the log, to the
 * streams watching, to push targets), handing the next message to an executor waiting for input,
 * cancelling, and picking up tasks a restart left unfinished.
 */
import { randomUUID } from "node:crypto";
import { onAgentUnload } from "../agent/unload-hooks.ts";
import { a2aState, notify, type A2AAgentState, type LiveRun } from "./agent-state.ts";
import { A2A_ERROR_CODES, A2AError, taskNotFound } from "./errors.ts";
import type { A2ALimits } from "./limits.ts";
import { queuePushes, type PushPolicy } from "./push-delivery.ts";
import type { LoggedEvent, TaskHead } from "./store.ts";
import {
  isFinalState,
  TERMINAL_STATES,
  type A2AArtifact,
  type A2AExecutionContext,
  type A2AExecutor,
  type A2AMessage,
  type A2ATask,
  type A2ATaskState,
  type A2AUpdate,
} from "./types.ts";

/** How the endpoint runs tasks. */
export interface RunConfig {
  executor: A2AExecutor;
  limits: A2ALimits;
  /** What happens to a task the host stopped in the middle of: run the executor again, or fail it. */
  onInterrupted: "resume" | "fail";
  /** Push notifications; undefined when the endpoint does not offer them. */
  push: PushPolicy | undefined;
}

/** The message a restart interrupted, given to the executor again. */
const INTERRUPTED = "The host stopped while the task was running";

export class TaskRunner {
  readonly state: A2AAgentState;
  readonly #config: RunConfig;

  constructor(agent: object, config: RunConfig) {
    this.state = a2aState(agent);
    this.#config = config;
  }

  get #now(): number {
    return this.state.runtime.clock.now();
  }

  /** Records a new task for a client's first message and starts the executor. */
  create(message: A2AMessage): A2ATask {
    const now = this.#now;
    const id = randomUUID();
    const contextId = message.contextId ?? randomUUID();
    const first = { ...message, taskId: id, contextId };
    const at = new Date(now).toISOString();
    const task: A2ATask = { id, contextId, status: { state: "submitted", timestamp: at }, artifacts: [], history: [first], createdAt: at, lastModified: at };
    this.state.store.create(task, message.messageId, now);
    return task;
  }

  /** Starts the executor on `message` for task `taskId` (unless one runs already). */
  start(taskId: string, message: A2AMessage, resumed: boolean): void {
    const { state } = this;
    if (state.runs.has(taskId)) return;
    const stored = state.store.get(taskId);
    if (!stored) return;
    const controller = new AbortController();
    let release: (() => void) | undefined = state.runtime.keepAlive();
    let unwatch: (() => void) | undefined;
    const run: LiveRun = {
      controller,
      idle: () => {
        release?.();
        release = undefined;
        // Leaving memory ends the waiting execution (its finally blocks run); the task keeps its state.
        unwatch ??= onAgentUnload(state.agent, () => {
          run.left = true;
          controller.abort(new Error("The agent left memory while the task waited for input; the next message starts it again"));
        });
      },
      busy: () => {
        unwatch?.();
        unwatch = undefined;
        release ??= state.runtime.keepAlive();
      },
    };
    state.runs.set(taskId, run);
    const { task } = stored;
    const context: A2AExecutionContext = {
      agent: state.agent,
      taskId,
      contextId: task.contextId,
      signal: controller.signal,
      history: task.history.filter((earlier) => earlier.messageId !== message.messageId),
      resumed,
      emit: (update) => {
        if (state.runs.get(taskId) === run) this.#apply(taskId, task.contextId, update);
      },
      requireInput: (prompt) => this.#requireInput(run, taskId, task.contextId, prompt),
    };
    const execution = async (): Promise<void> => {
      try {
        this.setStatus(taskId, "working");
        await this.#config.executor({ ...message, taskId, contextId: task.contextId }, context);
        if (state.runs.get(taskId) !== run) return; // superseded by a newer execution
        const now = state.store.head(taskId)?.state;
        if (now === "submitted" || now === "working") this.setStatus(taskId, "completed");
      } catch (error) {
        if (run.left || !state.store.isOpen || state.runs.get(taskId) !== run) return;
        if (controller.signal.aborted) this.setStatus(taskId, "canceled");
        else this.setStatus(taskId, "failed", errorText(error), true);
      }
    };
    void execution()
      .catch((error: unknown) => console.error(`[hearth] A2A task ${taskId}:`, error))
      .finally(() => {
        if (state.runs.get(taskId) === run) state.runs.delete(taskId);
        unwatch?.();
        release?.();
        release = undefined;
      });
  }

  /** A client's next message on a task waiting for input: to the executor waiting for it, or a new execution. */
  continue(taskId: string, message: A2AMessage): void {
    const { state } = this;
    const max = this.#config.limits.maxEventsPerTask;
    if ((state.store.head(taskId)?.lastSeq ?? 0) >= max) {
      // Its "working" would not fit: the task ends here rather than wait for a message it cannot take.
      const reason = `Task ${taskId} reached the limit of ${max} events (maxEventsPerTask); it takes no more messages`;
      this.setStatus(taskId, "failed", reason, true);
      state.runs.get(taskId)?.controller.abort(new Error(reason));
      throw new A2AError(A2A_ERROR_CODES.unsupportedOperation, reason, { taskId });
    }
    state.store.addUserMessage(taskId, message, this.#now);
    const run = state.runs.get(taskId);
    const waiter = run?.waiter;
    if (run && waiter) {
      run.waiter = undefined;
      run.busy();
      this.setStatus(taskId, "working");
      waiter(message);
      return;
    }
    if (run) run.controller.abort(new Error("superseded"));
    state.runs.delete(taskId);
    this.start(taskId, message, true);
  }

  /** Cancels a task that is not in a terminal state; the execution's signal is aborted. */
  cancel(taskId: string): A2ATask {
    const head = this.state.store.head(taskId);
    if (!head) throw taskNotFound(taskId);
    const { state } = head;
    if (TERMINAL_STATES.has(state)) {
      throw new A2AError(A2A_ERROR_CODES.taskNotCancelable, `Task ${JSON.stringify(taskId)} is ${state}: a task in a terminal state cannot be canceled`, { taskId, state });
    }
    this.setStatus(taskId, "canceled", "Canceled by the client", true);
    this.state.runs.get(taskId)?.controller.abort(new Error("The task was canceled"));
    return this.state.store.get(taskId)!.task;
  }

  /**
   * Once per agent instance: tasks left submitted or working by a previous process are run again
   * (from their last client message) or failed, per `onInterrupted`.
   */
  recover(): void {
    const { state } = this;
    if (state.recovered) return;
    state.recovered = true;
    for (const taskId of state.store.unfinished()) {
      if (state.runs.has(taskId)) continue;
      const task = state.store.get(taskId)?.task;
      const last = task?.history.findLast((message) => message.role === "user");
      if (this.#config.onInterrupted === "fail" || !last) this.setStatus(taskId, "failed", INTERRUPTED, true);
      else this.start(taskId, last, true);
    }
  }

  /**
   * Moves a task to `state` (a repeated state without a message is skipped). `keep` adds the message
   * to the history. Returns false when the task was in a terminal state already. Reads only the
   * task's head: an executor's progress must not cost the size of the task so far.
   */
  setStatus(taskId: string, state: A2ATaskState, message?: string | A2AMessage, keep = false): boolean {
    const head = this.state.store.head(taskId);
    if (!head) return false;
    if (head.state === state && message === undefined) return true;
    const agentMessage = message === undefined ? undefined : toAgentMessage(message, taskId, head.contextId);
    const status = { state, ...(agentMessage ? { message: agentMessage } : {}), timestamp: new Date(this.#now).toISOString() };
    const event: LoggedEvent = { kind: "status", taskId, contextId: head.contextId, status, final: isFinalState(state) };
    return this.#record(taskId, event, keep && agentMessage !== undefined, head) !== undefined;
  }

  #record(taskId: string, event: LoggedEvent, inHistory = false, head?: TaskHead): number | undefined {
    const seq = this.state.store.append(taskId, event, this.#now, this.#config.limits.maxEventsPerTask, inHistory, head);
    if (seq === undefined) return undefined;
    notify(this.state, taskId, seq, event);
    if (event.kind === "status") queuePushes(this.state, taskId, seq, this.#config.push);
    return seq;
  }

  #apply(taskId: string, contextId: string, update: A2AUpdate): void {
    if ("artifact" in update) {
      const input = update.artifact;
      if (update.append && !input.artifactId) throw new TypeError("An artifact update with append: true needs the artifactId of the artifact it extends");
      const parts = input.parts ?? (input.text !== undefined ? [{ text: input.text }] : []);
      if (parts.length === 0) throw new TypeError("An artifact needs parts (or text)");
      const artifact: A2AArtifact = {
        artifactId: input.artifactId ?? randomUUID(),
        parts,
        ...(input.name !== undefined ? { name: input.name } : {}),
        ...(input.description !== undefined ? { description: input.description } : {}),
        ...(input.metadata !== undefined ? { metadata: input.metadata } : {}),
      };
      this.#record(taskId, { kind: "artifact", taskId, contextId, artifact, append: update.append === true, lastChunk: update.lastChunk === true });
    } else if ("status" in update) {
      this.setStatus(taskId, update.status, update.message, update.message !== undefined && update.status !== "working");
    } else {
      const current = this.state.store.head(taskId)?.state ?? "working";
      this.setStatus(taskId, current === "submitted" ? "working" : current, update.message, true);
    }
  }

  #requireInput(run: LiveRun, taskId: string, contextId: string, prompt: string | A2AMessage | undefined): Promise<A2AMessage> {
    const { signal } = run.controller;
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<A2AMessage>((resolve, reject) => {
      const onAbort = () => reject(signal.reason as Error);
      signal.addEventListener("abort", onAbort, { once: true });
      run.waiter = (message) => {
        signal.removeEventListener("abort", onAbort);
        resolve({ ...message, taskId, contextId });
      };
      if (!this.setStatus(taskId, "input-required", prompt ?? "Input required", true)) {
        run.waiter = undefined;
        signal.removeEventListener("abort", onAbort);
        reject(new Error(`Task ${taskId} has ended; it takes no more input`));
        return;
      }
      // A client may never answer: the agent may leave memory meanwhile (this wait is then dropped).
      run.idle();
    });
  }
}

function toAgentMessage(message: string | A2AMessage, taskId: string, contextId: string): A2AMessage {
  if (typeof message === "string") return { messageId: randomUUID(), role: "agent", parts: [{ text: message }], taskId, contextId };
  return { ...message, messageId: message.messageId || randomUUID(), role: "agent", taskId, contextId };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
