/**
 * Walks a team's nodes for one run. Composite nodes (pipeline, loop, …) hold no state of their own:
 * a resumed run walks the tree again from the top and every leaf that was done returns its journaled
 * output at once, so the run is back at the exact step it left, having paid for nothing twice.
 */
import { waitForApproval } from "./approvals.ts";
import { BudgetExceededError } from "./budget.ts";
import { executeChoice } from "./choice.ts";
import { errorInfo, isFinal, LoopLimitError, StepTimeoutError } from "./errors.ts";
import { executeFanOut } from "./fan-out.ts";
import { callMember } from "./member-call.ts";
import type { StepNode, TeamNode } from "./nodes.ts";
import { capChars } from "./caps.ts";
import { at, nameOf } from "./places.ts";
import { checkRunning, effect, withTimeout, type RunScope, type StepPlace } from "./scope.ts";
import type { Clock } from "../time/clock.ts";
import { executeSupervisor } from "./supervisor.ts";

/** Runs `node` on `input` at `place`; resolves with its output. */
export async function execute(scope: RunScope, node: TeamNode, input: unknown, place: StepPlace): Promise<unknown> {
  checkRunning(scope, place);
  switch (node.kind) {
    case "member":
      return callMember(scope, node, input, place);
    case "step":
      return executeStep(scope, node, input, place);
    case "pipeline": {
      let value = input;
      for (const [i, next] of node.steps.entries()) value = await execute(scope, next, value, at(place, `${i}.${nameOf(next)}`));
      return value;
    }
    case "branch": {
      const taken = await effect(scope, at(place, "test"), { kind: "decision", counts: false, report: true, run: () => Promise.resolve({ output: Boolean(node.test(input)) }) });
      if (taken) return execute(scope, node.then, input, at(place, "then"));
      return node.else ? execute(scope, node.else, input, at(place, "else")) : input;
    }
    case "loop":
      return executeLoop(scope, node, input, place);
    case "approval":
      return waitForApproval(scope, node, input, place);
    case "parallel":
    case "map":
      return executeFanOut(scope, node, input, place, execute);
    case "route":
    case "fallback":
    case "handoff":
      return executeChoice(scope, node, input, place, execute);
    case "supervisor":
      return executeSupervisor(scope, node, input, place);
  }
}

async function executeStep(scope: RunScope, node: StepNode, input: unknown, place: StepPlace): Promise<unknown> {
  const options = node.options;
  let value = options.input ? options.input(input, scope.scratch.view()) : input;
  if (options.maxChars !== undefined) value = capChars(value, options.maxChars);
  const needsApproval = typeof options.needsApproval === "function" ? options.needsApproval(value) : options.needsApproval === true;
  if (needsApproval) value = await waitForApproval(scope, { kind: "approval", prompt: () => `Approve ${nameOf(node)}?` }, value, at(place, "approval"));
  const attempts = 1 + (options.retries ?? 0);
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const timeout = withTimeout(scope.clock, place.signal, options.timeoutMs, () => new StepTimeoutError(`${nameOf(node)} took longer than ${options.timeoutMs} ms`));
    try {
      const attemptPlace = at(place, `@${attempt}`, timeout.signal);
      const raw = node.node.kind === "member" ? await callMember(scope, node.node, value, attemptPlace, options.limits) : await execute(scope, node.node, value, attemptPlace);
      const output = options.maxChars !== undefined ? capChars(raw, options.maxChars) : raw;
      if (options.saveAs !== undefined) scope.scratch.write(options.saveAs, output);
      return output;
    } catch (error) {
      if (error instanceof BudgetExceededError && scope.policy === "degrade" && options.degradeTo) {
        return execute(scope, options.degradeTo, value, at(place, "degraded"));
      }
      if (isFinal(error)) throw error;
      lastError = error;
      const retryable = options.retryOn ? options.retryOn(errorInfo(error)) : true;
      if (!retryable || attempt === attempts) break;
      scope.emit("step-retry", place.path, { attempt, error: errorInfo(error) });
      await sleep(scope.clock, backoff(options, attempt), scope.signal);
    } finally {
      timeout.clear();
    }
  }
  if (options.fallback) {
    scope.emit("fallback", place.path, { error: errorInfo(lastError) });
    return execute(scope, options.fallback, value, at(place, "fallback"));
  }
  throw lastError;
}

async function executeLoop(scope: RunScope, node: Extract<TeamNode, { kind: "loop" }>, input: unknown, place: StepPlace): Promise<unknown> {
  let value = input;
  for (let iteration = 1; iteration <= node.maxIterations; iteration++) {
    const output = await execute(scope, node.body, value, at(place, String(iteration)));
    if (node.until(output, iteration)) return output;
    value = node.next ? node.next(output, value, iteration) : output;
  }
  throw new LoopLimitError(`loop reached maxIterations (${node.maxIterations}) without its exit condition holding`);
}


function backoff(options: StepNode["options"], attempt: number): number {
  const base = options.backoffMs ?? 500;
  const max = options.maxBackoffMs ?? 30_000;
  const delay = Math.min(max, base * 2 ** (attempt - 1));
  return delay / 2 + Math.random() * (delay / 2);
}

/** Waits `ms` on the owner's `clock`, or rejects when `signal` aborts. */
function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    const cancelTimer = clock.setTimer(clock.now() + ms, () => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    });
    const onAbort = () => {
      cancelTimer();
      reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
