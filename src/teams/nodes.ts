/**
 * The building blocks of a team: plain data describing what runs in which order, composed freely
 * (a pipeline step may be a parallel fan-out of routers …). The engine walks this tree; every leaf
 * that does work (a member call, a model call, a decision) is journaled under its path.
 */
import type { LanguageModel } from "ai";
import type { TeamLimits } from "./budget.ts";
import type { TeamMember } from "./member.ts";
import { checkPathName } from "./names.ts";

/** Any part of a team. `I` and `O` type its input and output. */
export type TeamNode<I = unknown, O = unknown> =
  | TeamMember<I, O>
  | StepNode<I, O>
  | PipelineNode
  | ParallelNode
  | MapNode
  | RouteNode
  | BranchNode
  | LoopNode
  | FallbackNode
  | SupervisorNode
  | HandoffNode
  | ApprovalNode;

/** How an error is told apart after a restart: by its name and message (the class is gone). */
export interface StepErrorInfo {
  name: string;
  message: string;
}

/** Options of {@link step}: what wraps one node's execution. */
export interface StepOptions<I = unknown> {
  /** Its name in the run's paths (default the member's name or the node's kind). */
  name?: string;
  /** Further attempts after a failure. Default 0. */
  retries?: number;
  /** First retry delay in ms, doubled each time (with jitter), at most `maxBackoffMs`. Default 500. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Which failures are retried (default: all but budget, cancellation and approval rejections). */
  retryOn?: (error: StepErrorInfo) => boolean;
  /** Fails an attempt that takes longer. */
  timeoutMs?: number;
  /** Runs instead when every attempt failed. */
  fallback?: TeamNode;
  /**
   * Shapes the input the node sees (what a member sees is explicit), from its input and the run's
   * scratchpad. (Method syntax on purpose: a step typed for one input still composes with others.)
   */
  input?(input: I, scratch: Readonly<Record<string, unknown>>): unknown;
  /** Writes the output to the run's scratchpad under this key (merged by the key's reducer, if any). */
  saveAs?: string;
  /** Longer string inputs and outputs are cut to this many characters, with a marker. */
  maxChars?: number;
  /** The wrapped member's own limits over the whole run (all its calls: retries, loop iterations…). */
  limits?: TeamLimits;
  /** Used instead when the run's budget cannot fit this node and the run's policy is `degrade`. */
  degradeTo?: TeamNode;
  /** Needs a person's approval before it runs; a function gets the value the node will see (after `input`). */
  needsApproval?: boolean | ((value: unknown) => boolean);
}

export interface StepNode<I = unknown, O = unknown> {
  readonly kind: "step";
  readonly node: TeamNode<unknown, O>;
  readonly options: StepOptions<I>;
}

export interface PipelineNode {
  readonly kind: "pipeline";
  readonly steps: readonly TeamNode[];
}

export interface ParallelNode {
  readonly kind: "parallel";
  readonly branches: Readonly<Record<string, TeamNode>>;
  readonly concurrency: number;
  readonly reduce?: (results: Record<string, unknown>, input: unknown) => unknown;
}

export interface MapNode {
  readonly kind: "map";
  readonly node: TeamNode;
  readonly items: (input: unknown) => readonly unknown[];
  readonly concurrency: number;
  readonly maxItems: number;
  readonly reduce?: (results: unknown[], input: unknown) => unknown;
}

/** A model's classification: labels with what each is for. */
export interface Classifier {
  model: LanguageModel;
  /** Label → description, shown to the model. */
  labels: Readonly<Record<string, string>>;
  /** Below this confidence the route's default is taken. Default 0.5. */
  threshold?: number;
  /** Extra instructions for the model. */
  instructions?: string;
}

export interface RouteNode {
  readonly kind: "route";
  readonly routes: Readonly<Record<string, TeamNode>>;
  /** Code first: a route name, or undefined to ask the classifier (or take the default). */
  readonly by?: (input: unknown) => string | undefined;
  readonly classify?: Classifier;
  readonly default?: string;
}

export interface BranchNode {
  readonly kind: "branch";
  readonly test: (input: unknown) => boolean;
  readonly then: TeamNode;
  readonly else?: TeamNode;
}

export interface LoopNode {
  readonly kind: "loop";
  readonly body: TeamNode;
  /** Stops when true (checked after each iteration). */
  readonly until: (output: unknown, iteration: number) => boolean;
  /** The next iteration's input (default: the last output). */
  readonly next?: (output: unknown, input: unknown, iteration: number) => unknown;
  readonly maxIterations: number;
}

export interface FallbackNode {
  readonly kind: "fallback";
  readonly options: readonly TeamNode[];
  /**
   * Which other failures move on to the next option (default: all of them). Never these, which are
   * final: cancellation, a budget that ran out (BudgetExceededError) and a rejected approval
   * (ApprovalRejectedError).
   */
  readonly on?: (error: StepErrorInfo) => boolean;
  /** An option slower than this counts as failed. */
  readonly timeoutMs?: number;
  /** An output that fails this check counts as failed ("failed check"). */
  readonly check?: (output: unknown) => boolean;
}

export interface SupervisorNode {
  readonly kind: "supervisor";
  readonly name: string;
  readonly model: LanguageModel;
  readonly instructions: string;
  readonly members: readonly TeamMember[];
  /** Model turns at most (each may delegate to several members). Default 8. */
  readonly maxTurns: number;
  /** A member's answer is cut to this many characters before the model sees it. Default 8,000. */
  readonly maxResultChars?: number;
  /** Asked after the model answers; false sends it back to work with `feedback`. */
  readonly isComplete?: (answer: string, input: unknown) => boolean | { complete: boolean; feedback?: string };
  /** Before each delegation: return false to refuse it (the model is told), or a new input. */
  readonly onDelegation?: (call: { member: string; input: unknown }) => boolean | { input: unknown } | void;
}

export interface HandoffNode {
  readonly kind: "handoff";
  readonly name: string;
  readonly members: Readonly<Record<string, TeamMember>>;
  /** Who answers a conversation's first message. */
  readonly start: string;
  /** Reads a member's output: the member to hand the conversation to, if any. */
  readonly handoffOf: (output: unknown) => { to: string; input?: unknown } | undefined;
  /** Handoffs within one message at most. Default 3. */
  readonly maxHandoffs: number;
}

export interface ApprovalNode {
  readonly kind: "approval";
  readonly prompt: (input: unknown) => string;
}

const NODE_KINDS = new Set(["member", "step", "pipeline", "parallel", "map", "route", "branch", "loop", "fallback", "supervisor", "handoff", "approval"]);

/** Throws a clear error when `value` is not a team node (a common mistake: passing a class). */
export function checkNode(value: unknown, where: string): asserts value is TeamNode {
  const kind = typeof value === "object" && value !== null ? (value as { kind?: unknown }).kind : undefined;
  if (typeof kind !== "string" || !NODE_KINDS.has(kind)) {
    const what = typeof value === "function" ? `a function or class (${(value as { name?: string }).name || "anonymous"}): wrap it with fnMember() or subAgentMember()` : `${typeof value}`;
    throw new TypeError(`${where} must be a team node (a member, step, pipeline, …); got ${what}`);
  }
  // Names become path segments: a member object made by hand is checked here, as the helpers check theirs.
  if (kind === "member") checkPathName((value as { name?: unknown }).name, `${where}: a member's name`);
}

function positiveInt(value: number | undefined, fallback: number, what: string): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 1) throw new TypeError(`${what} must be an integer ≥ 1 (got ${String(value)})`);
  return n;
}

/**
 * Wraps a node with retries, a timeout, a fallback, an input filter, size caps, its own limits or an
 * approval.
 * @example
 * step(writer, { retries: 2, timeoutMs: 30_000, fallback: backupWriter, maxChars: 8_000 });
 */
export function step<I, O>(node: TeamNode<unknown, O>, options: StepOptions<I>): StepNode<I, O> {
  checkNode(node, "step(node)");
  if (options.name !== undefined) checkPathName(options.name, "step({ name })");
  if (options.fallback) checkNode(options.fallback, "step({ fallback })");
  if (options.degradeTo) checkNode(options.degradeTo, "step({ degradeTo })");
  if (options.retries !== undefined && !(Number.isInteger(options.retries) && options.retries >= 0)) throw new TypeError("step({ retries }) must be an integer ≥ 0");
  return { kind: "step", node, options };
}

/**
 * Runs nodes one after another, each getting the previous one's output.
 * @example
 * pipeline(research, step(draft, { retries: 2 }), review);
 */
export function pipeline(...steps: TeamNode[]): PipelineNode {
  if (steps.length === 0) throw new TypeError("pipeline() needs at least one step");
  steps.forEach((s, i) => checkNode(s, `pipeline() step ${i}`));
  return { kind: "pipeline", steps };
}

/**
 * Runs named branches at once on the same input; the output is `{ name: output }`, or what `reduce`
 * makes of it.
 * @example
 * parallel({ pro: optimist, con: skeptic }, { reduce: (r) => `${r.pro}\n${r.con}` });
 */
export function parallel(
  branches: Record<string, TeamNode>,
  options: { concurrency?: number; reduce?: (results: Record<string, unknown>, input: unknown) => unknown } = {},
): ParallelNode {
  const names = Object.keys(branches);
  if (names.length === 0) throw new TypeError("parallel() needs at least one branch");
  for (const name of names) {
    checkPathName(name, "A parallel() branch name");
    checkNode(branches[name], `parallel() branch "${name}"`);
  }
  return { kind: "parallel", branches, concurrency: positiveInt(options.concurrency, names.length, "parallel({ concurrency })"), ...(options.reduce ? { reduce: options.reduce } : {}) };
}

/** Most items a map() fans out to, unless it says otherwise. */
export const DEFAULT_MAP_MAX_ITEMS = 100;

/**
 * Runs `node` once per item of `items(input)`, at most `concurrency` at a time; the output is the
 * array of results in item order, or what `reduce` makes of it.
 * @example
 * map(summarise, { items: (doc) => doc.sections, concurrency: 4, reduce: (parts) => parts.join("\n") });
 */
export function map(
  node: TeamNode,
  options: { items: (input: unknown) => readonly unknown[]; concurrency?: number; maxItems?: number; reduce?: (results: unknown[], input: unknown) => unknown },
): MapNode {
  checkNode(node, "map(node)");
  if (typeof options.items !== "function") throw new TypeError("map({ items }) must be a function of the input returning an array");
  return {
    kind: "map",
    node,
    items: options.items,
    concurrency: positiveInt(options.concurrency, 4, "map({ concurrency })"),
    maxItems: positiveInt(options.maxItems, DEFAULT_MAP_MAX_ITEMS, "map({ maxItems })"),
    ...(options.reduce ? { reduce: options.reduce } : {}),
  };
}

/**
 * Sends the input to one of several routes: by code (`by`), by a model's classification (`classify`,
 * below `threshold` → `default`), or code first and the model when code returns undefined.
 * @example
 * route({ routes: { support, analytics, writing }, classify: { model, labels }, default: "support" });
 */
export function route(options: { routes: Record<string, TeamNode>; by?: (input: unknown) => string | undefined; classify?: Classifier; default?: string }): RouteNode {
  const names = Object.keys(options.routes);
  if (names.length === 0) throw new TypeError("route() needs at least one route");
  for (const name of names) {
    checkPathName(name, "A route() route name");
    checkNode(options.routes[name], `route() route "${name}"`);
  }
  if (!options.by && !options.classify) throw new TypeError("route() needs `by` (code), `classify` (a model), or both");
  if (options.default !== undefined && !names.includes(options.default)) throw new TypeError(`route({ default }) names "${options.default}", which is not one of its routes (${names.join(", ")})`);
  if (options.classify) {
    for (const label of Object.keys(options.classify.labels)) {
      if (!names.includes(label)) throw new TypeError(`route({ classify }) label "${label}" has no route`);
    }
  }
  return { kind: "route", ...options };
}

/**
 * Runs `then` when `test(input)` holds, else `else` (or passes the input through).
 * @example
 * branch((q) => q.length > 500, { then: summarise, else: answer });
 */
export function branch(test: (input: unknown) => boolean, options: { then: TeamNode; else?: TeamNode }): BranchNode {
  checkNode(options.then, "branch({ then })");
  if (options.else) checkNode(options.else, "branch({ else })");
  return { kind: "branch", test, then: options.then, ...(options.else ? { else: options.else } : {}) };
}

/** Iterations a loop() may run unless it says otherwise. */
export const DEFAULT_MAX_ITERATIONS = 5;

/**
 * Runs `body` until `until(output)` holds or `maxIterations` (default 5) is reached — then the loop
 * fails with LoopLimitError rather than spending without end.
 * @example
 * loop(pipeline(write, critique), { until: (r) => r.approved, maxIterations: 3 });
 */
export function loop(
  body: TeamNode,
  options: { until: (output: unknown, iteration: number) => boolean; next?: (output: unknown, input: unknown, iteration: number) => unknown; maxIterations?: number },
): LoopNode {
  checkNode(body, "loop(body)");
  if (typeof options.until !== "function") throw new TypeError("loop({ until }) must be a function: a loop needs an exit");
  return { kind: "loop", body, until: options.until, ...(options.next ? { next: options.next } : {}), maxIterations: positiveInt(options.maxIterations, DEFAULT_MAX_ITERATIONS, "loop({ maxIterations })") };
}

/**
 * Tries options in order until one succeeds: on an error (filtered by `on`), a timeout, or an
 * output that fails `check`.
 * @example
 * fallback([primaryModel, backupModel], { timeoutMs: 20_000, check: (answer) => answer !== "" });
 */
export function fallback(options: TeamNode[], config: { on?: (error: StepErrorInfo) => boolean; timeoutMs?: number; check?: (output: unknown) => boolean } = {}): FallbackNode {
  if (options.length < 2) throw new TypeError("fallback() needs at least two options");
  options.forEach((o, i) => checkNode(o, `fallback() option ${i}`));
  return { kind: "fallback", options, ...config };
}

/**
 * A model that delegates to members as tools until it can answer.
 * @example
 * supervisor({ name: "lead", model, instructions: "Answer using the specialists.", members: [research, math] });
 */
export function supervisor(options: Omit<SupervisorNode, "kind" | "maxTurns"> & { maxTurns?: number }): SupervisorNode {
  if (options.members.length === 0) throw new TypeError("supervisor() needs at least one member");
  checkPathName(options.name, "supervisor({ name })");
  const names = new Set<string>();
  for (const [i, member] of options.members.entries()) {
    if (member?.kind !== "member") throw new TypeError(`supervisor() member ${i} must be a team member (fnMember, subAgentMember, modelMember, …)`);
    checkPathName(member.name, `supervisor() member ${i}'s name`);
    if (names.has(member.name)) throw new TypeError(`supervisor() has two members named "${member.name}"`);
    names.add(member.name);
  }
  return { ...options, kind: "supervisor", maxTurns: positiveInt(options.maxTurns, 8, "supervisor({ maxTurns })") };
}

/**
 * Members that pass a conversation to one another: the owner answers every message of the
 * conversation until it hands it on (its output names another member).
 * @example
 * handoff({ name: "desk", members: { triage, billing }, start: "triage", handoffOf: (o) => o.transfer && { to: o.transfer } });
 */
export function handoff(options: Omit<HandoffNode, "kind" | "maxHandoffs"> & { maxHandoffs?: number }): HandoffNode {
  if (!(options.start in options.members)) throw new TypeError(`handoff({ start }) names "${options.start}", which is not one of its members`);
  checkPathName(options.name, "handoff({ name })");
  for (const [name, member] of Object.entries(options.members)) {
    checkPathName(name, "A handoff() member key");
    if (member?.kind !== "member") throw new TypeError(`handoff() member "${name}" must be a team member`);
    checkPathName(member.name, `handoff() member "${name}"'s name`);
  }
  return { ...options, kind: "handoff", maxHandoffs: positiveInt(options.maxHandoffs, 3, "handoff({ maxHandoffs })") };
}

/**
 * Waits for a person: the run stops (holding no memory) until `run.approve(path, value?)` or
 * `run.reject(path, reason?)` on its TeamRun; it never times out. The output is the input, or
 * the value given with the approval.
 * @example
 * pipeline(draft, approval((d) => `Send this reply?\n${d}`), send);
 */
export function approval(prompt: string | ((input: unknown) => string)): ApprovalNode {
  return { kind: "approval", prompt: typeof prompt === "string" ? () => prompt : prompt };
}
