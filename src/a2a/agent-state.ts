/**
 * What an agent serving A2A keeps in memory, per instance: its task store, the executions running
 * now, and the streams watching tasks. A new instance (after a restart) starts empty: a task that was
 * running has no execution then, which is how recovery finds it.
 */
import { AGENT_RUNTIME } from "../agent/agent-base.ts";
import type { AgentRuntime } from "../agent/runtime.ts";
import { A2ATaskStore, type LoggedEvent } from "./store.ts";
import type { A2AMessage } from "./types.ts";

/** An execution of the executor for one task. */
export interface LiveRun {
  readonly controller: AbortController;
  /** Set while the executor waits in `requireInput`: resolves it with the client's next message. */
  waiter?: (message: A2AMessage) => void;
  /**
   * Lets the agent leave memory while the executor waits for the client: leaving, it aborts the
   * execution (`left` set, the task untouched); the next message starts it again, `resumed`.
   */
  idle(): void;
  /** Set when the execution was aborted because the agent left memory while it waited. */
  left?: boolean;
  /** Holds the agent in memory again: the executor runs. */
  busy(): void;
}

/** Called with every event logged for a task, after it was written (maybe not yet committed). */
export type TaskListener = (seq: number, event: LoggedEvent) => void;

export interface A2AAgentState {
  readonly agent: object;
  readonly runtime: AgentRuntime;
  readonly store: A2ATaskStore;
  readonly runs: Map<string, LiveRun>;
  readonly listeners: Map<string, Set<TaskListener>>;
  /** Unfinished tasks were looked at once in this instance's life. */
  recovered: boolean;
}

const states = new WeakMap<object, A2AAgentState>();

/** The runtime of an agent (throws for anything else). */
export function runtimeOf(agent: object): AgentRuntime {
  const runtime = (agent as { [AGENT_RUNTIME]?: AgentRuntime })[AGENT_RUNTIME];
  if (!runtime) throw new TypeError("An A2A endpoint belongs to an agent: pass `this` from an Agent's onRequest");
  return runtime;
}

export function a2aState(agent: object): A2AAgentState {
  let state = states.get(agent);
  if (!state) {
    const runtime = runtimeOf(agent);
    state = { agent, runtime, store: A2ATaskStore.of(runtime.db), runs: new Map(), listeners: new Map(), recovered: false };
    states.set(agent, state);
  }
  return state;
}

/** Adds a listener to a task's events; returns the function that removes it. */
export function listen(state: A2AAgentState, taskId: string, listener: TaskListener): () => void {
  let set = state.listeners.get(taskId);
  if (!set) state.listeners.set(taskId, (set = new Set()));
  set.add(listener);
  return () => {
    set.delete(listener);
    if (set.size === 0 && state.listeners.get(taskId) === set) state.listeners.delete(taskId);
  };
}

export function notify(state: A2AAgentState, taskId: string, seq: number, event: LoggedEvent): void {
  const set = state.listeners.get(taskId);
  if (!set) return;
  for (const listener of [...set]) {
    try {
      listener(seq, event);
    } catch (error) {
      console.error("[hearth] A2A task listener failed:", error);
    }
  }
}
