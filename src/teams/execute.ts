/**
 * Walks a team's nodes for one run. Composite nodes (pipeline, loop, …) hold no state of their own:
 * a resumed run walks the tree again from the top and every leaf that was done returns its journaled
 * output at once, so the run is back at the exact step it left, having paid for nothing twice.
 */
import { BudgetExceededError } from "./budget.ts";
import { executeFanOut } from "./fan-out.ts";
import { executeChoice } from "./choice.ts";
import { ApprovalRejectedError, errorInfo, isFinal, LoopLimitError, RunSuspended, StepTimeoutError, type PendingApproval } from "./errors.ts";
import type { MemberCallContext, TeamMember } from "./member.ts";
import type { ApprovalNode, StepNode, TeamNode } from "./nodes.ts";
import { checkRunning, childPath, effect, raceSignal, withTimeout, type RunScope, type StepPlace } from "./scope.ts";
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
      const taken = await effect(scope, at(place, "test"), { kind: "decision", counts: false, run: () => Promise.resolve({ output: Boolean(node.test(input)) }) });
      if (taken) return execute(scope, node.then, input, at(place, "then"));
      return node.else ? execute(scope, node.else, input, at(place, "else")) : input;
    }
    case "loop":
      return executeLoop(scope, node, input, place);
    case "approval":
      return waitForApproval(scope, node, input, place);
    case "parallel":
    case "map":
      return executeFanOut(scope, node, input, place);
    case "route":
    case "fallback":
    case "handoff":
      return executeChoice(scope, node, input, place);
    case "supervisor":
      return executeSupervisor(scope, node, input, place);
  }
}

/** The place of a child step. */
export function at(place: StepPlace, segment: string, signal = place.signal): StepPlace {
  return { path: childPath(place.path, segment), depth: place.depth, signal };
}

/** A short name for paths and events. */
export function nameOf(node: TeamNode): string {
  if (node.kind === "member") return node.name;
  if (node.kind === "step") return node.options.name ?? nameOf(node.node);
  if (node.kind === "supervisor" || node.kind === "handoff") return node.name;
  return node.kind;
}

/** Calls a member once for this path (its journaled result after a restart). */
export function callMember(scope: RunScope, member: TeamMember, input: unknown, place: StepPlace, limits?: StepNode["options"]["limits"]): Promise<unknown> {
  if (place.depth > scope.budget.limits.depth) {
    throw new BudgetExceededError("depth", `Team run budget exhausted: delegation depth ${place.depth} is over the limit of ${scope.budget.limits.depth}`);
  }
  const work = {
    kind: "member",
    ...(limits ? { limits } : {}),
    estimate: { ...member.estimate, ...(limits?.tokens !== undefined ? { tokens: limits.tokens } : {}) },
    run: async (signal: AbortSignal) => {
      const context: MemberCallContext = {
        runId: scope.runId,
        path: place.path,
        idempotencyKey: `${scope.runId}:${place.path}`,
        signal,
        owner: scope.owner,
        emit: (event) => void scope.emit("member-event", place.path, { member: member.name, ...event }),
      };
      return raceSignal(member.call(input, context), signal);
    },
  };
  return withBudgetRequests(scope, place, () => effect(scope, place, work));
}

/**
 * Under the `ask` policy, a call the budget cannot fit waits for a person to grant more (an approval
 * of kind "budget" whose value is the extension, e.g. `{ tokens: 50_000 }`), then runs.
 */
async function withBudgetRequests<T>(scope: RunScope, place: StepPlace, run: () => Promise<T>): Promise<T> {
  for (let request = 1; ; request++) {
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof BudgetExceededError) || scope.policy !== "ask" || scope.steps.get(place.path)) throw error;
      const extension = await askForBudget(scope, error, at(place, `budget-${request}`));
      scope.budget.extend(error.limit, extension as Parameters<typeof scope.budget.extend>[1]);
    }
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
    const timeout = withTimeout(place.signal, options.timeoutMs, () => new StepTimeoutError(`${nameOf(node)} took longer than ${options.timeoutMs} ms`));
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
      await sleep(backoff(options, attempt), scope.signal);
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

/**
 * An approval: done (its value), rejected (fails), or not yet given — then it is journaled as waiting
 * and the run suspends (siblings in a parallel branch go on).
 */
async function waitForApproval(scope: RunScope, node: ApprovalNode, input: unknown, place: StepPlace, kind: PendingApproval["kind"] = "step"): Promise<unknown> {
  const record = scope.steps.get(place.path);
  if (record?.status === "done") return record.output;
  if (record?.status === "failed") throw new ApprovalRejectedError(record.error?.message ?? "rejected");
  const prompt = record?.status === "waiting" ? (record.output as { prompt: string }).prompt : node.prompt(input);
  if (!record) {
    const waiting = { path: place.path, kind: `approval:${kind}`, status: "waiting" as const, output: { prompt, input }, at: scope.now() };
    scope.steps.set(place.path, waiting);
    scope.journal.writeStep(scope.runId, waiting);
    scope.emit("approval-requested", place.path, { prompt, kind });
    await scope.journal.committed();
  }
  throw new RunSuspended([{ path: place.path, prompt, kind }]);
}

/** Asks for a budget extension (the `ask` policy); resolves with the extension once approved. */
export function askForBudget(scope: RunScope, error: BudgetExceededError, place: StepPlace): Promise<unknown> {
  return waitForApproval(scope, { kind: "approval", prompt: () => `${error.message}. Approve to extend the ${error.limit} budget.` }, { limit: error.limit }, at(place, "budget"), "budget");
}

function backoff(options: StepNode["options"], attempt: number): number {
  const base = options.backoffMs ?? 500;
  const max = options.maxBackoffMs ?? 30_000;
  const delay = Math.min(max, base * 2 ** (attempt - 1));
  return delay / 2 + Math.random() * (delay / 2);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

const CUT_MARKER = "… [cut to fit]";

/** Strings (and string fields one level deep) longer than `max` characters, cut with a marker. */
export function capChars(value: unknown, max: number): unknown {
  const cut = (s: string) => (s.length > max ? s.slice(0, Math.max(0, max - CUT_MARKER.length)) + CUT_MARKER : s);
  if (typeof value === "string") return cut(value);
  if (value && typeof value === "object" && !Array.isArray(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === "string" ? cut(v) : v]));
  }
  return value;
}
