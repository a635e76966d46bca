import { AsyncLocalStorage } from "node:async_hooks";
import { AGENT_RUNTIME } from "../agent/agent-base.ts";
import { getCurrentAgent } from "../agent/context.ts";
import type { AgentRuntime } from "../agent/runtime.ts";
import { systemClock, type Clock } from "../time/clock.ts";
import type { RunOptions, Work } from "./types.ts";

/**
 * The clock of a call: the one the control was given, else the clock of the agent whose event is
 * running (virtual in `hearth/testing`), else the system clock.
 */
export function clockOf(given: Clock | undefined): Clock {
  if (given !== undefined) return given;
  const agent = getCurrentAgent<{ [AGENT_RUNTIME]?: AgentRuntime }>().agent;
  return agent?.[AGENT_RUNTIME]?.clock ?? systemClock;
}

/** A signal that never aborts, for callers that pass none. */
export const NEVER: AbortSignal = new AbortController().signal;

/** A call's key and signal; throws (the call is refused) for a bad key or a caller that gave up already. */
export function callStart<I>(keyOf: (input: I) => string, input: I, options: RunOptions): { key: string; signal: AbortSignal } {
  const signal = options.signal ?? NEVER;
  const key = keyOf(input);
  signal.throwIfAborted();
  return { key, signal };
}

/**
 * Runs `work` and settles with its outcome. When `signal` was aborted and the work then fails, the
 * failure is the abort reason (so a cancelled caller sees why, not the work's own AbortError).
 */
export function invoke<I, T>(work: Work<I, T>, input: I, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve) => resolve(work(input, signal))).catch((error: unknown) => {
    throw signal.aborted ? signal.reason : error;
  });
}

/**
 * Captures the caller's async context (the agent event, `getCurrentAgent()`), so work started later
 * by a timer runs in it.
 */
export function captureContext(): <R>(fn: () => R) => R {
  return AsyncLocalStorage.snapshot();
}

/** Calls `onAbort` once when `signal` aborts; returns the function that stops listening. */
export function onAbort(signal: AbortSignal, onAbort: () => void): () => void {
  if (signal === NEVER) return () => {};
  signal.addEventListener("abort", onAbort, { once: true });
  return () => signal.removeEventListener("abort", onAbort);
}
