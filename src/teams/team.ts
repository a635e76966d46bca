/**
 * A team and its runs. A run belongs to one agent (its owner): it is journaled in that agent's
 * SQLite, executes in a fiber of that agent, and after a crash the host wakes the agent and the run
 * goes on from its journal. `waiting` (for approvals) and `paused` runs hold no memory.
 */
import { createHash, randomUUID } from "node:crypto";
import { AGENT_RUNTIME } from "../agent/agent-base.ts";
import type { AgentRuntime } from "../agent/runtime.ts";
import { registerFiberRecoverer } from "../fiber/feature-recovery.ts";
import type { FlowControl } from "../flow-control/index.ts";
import { DEFAULT_PRICES, resolveLimits, RunBudget, type ExhaustedPolicy, type ModelPrice, type TeamLimits } from "./budget.ts";
import { errorInfo, RunStopped, RunSuspended, type PendingApproval } from "./errors.ts";
import { execute } from "./execute.ts";
import { TERMINAL_STATUSES, TeamJournal, type TeamEvent, type TeamRunRecord, type TeamRunStatus } from "./journal.ts";
import { checkNode, type TeamNode } from "./nodes.ts";
import { Scratchpad, type ScratchpadSpec } from "./scratchpad.ts";
import { streamEvent } from "./stream.ts";
import type { RunScope } from "./scope.ts";

/** Options of {@link team}. */
export interface TeamOptions {
  /** Limits of every run (over the defaults; a run may set its own on top). */
  limits?: TeamLimits;
  /** When a call does not fit the budget: fail the run (default), use the step's `degradeTo`, or ask a person. */
  onExhausted?: ExhaustedPolicy;
  /** USD per million tokens by model id, over the built-in table. */
  prices?: Record<string, ModelPrice>;
  /** Names this definition; a run started under another version fails when resumed. Default: a hash of the tree. */
  version?: string;
  /** Finished runs kept per agent and team (oldest deleted first). Default 1,000. */
  keepFinishedRuns?: number;
  /**
   * Flow control at the team's entry (hearth/flow-control): rate limits and throttles admit or refuse
   * a start; a concurrency slot is held while the run executes (not while it waits or is paused);
   * singleton `cancel` cancels the older run. A refusal rejects `start` with the control's error
   * (`toResponse(error)` makes the HTTP 429).
   */
  admission?: FlowControl<TeamEntry>;
  /** Reducers of scratchpad keys that several steps (parallel branches) write. */
  scratchpad?: ScratchpadSpec;
}

/** What flow control keys a team's start on. */
export interface TeamEntry {
  team: string;
  input: unknown;
  key?: string;
  conversation?: string;
}

/** Options of {@link Team.start}. */
export interface StartTeamRunOptions {
  /** Your id for the run (1-128 characters); starting an existing id returns that run. */
  runId?: string;
  /** Who it is for (a user id): recorded, and what flow control keys on. */
  key?: string;
  /** The conversation the message belongs to (handoffs keep their owner per conversation). */
  conversation?: string;
  /** This run's limits, over the team's. */
  limits?: TeamLimits;
}

const FIBER_PREFIX = "hearth:team:";
const teams = new Map<string, Team<unknown, unknown>>();

interface LiveRun {
  controller: AbortController;
  done: Promise<void>;
  /** Asked to go on while it was ending (an approval just after it suspended): execute again. */
  again: boolean;
}

/** Per agent: runs executing now, and watchers of runs (live or not). */
interface AgentTeams {
  live: Map<string, LiveRun>;
  watchers: Map<string, Set<(event: TeamEvent) => void>>;
}
const byAgent = new WeakMap<object, AgentTeams>();

function agentTeams(agent: object): AgentTeams {
  let state = byAgent.get(agent);
  if (!state) byAgent.set(agent, (state = { live: new Map(), watchers: new Map() }));
  return state;
}

function runtimeOf(agent: object): AgentRuntime {
  const runtime = (agent as { [AGENT_RUNTIME]?: AgentRuntime })[AGENT_RUNTIME];
  if (!runtime) throw new TypeError("A team run belongs to an agent: pass `this` from an Agent's method");
  return runtime;
}

/**
 * A team definition: a tree of nodes with limits. Define it at module level (it is found by name
 * when a run resumes after a restart).
 * @example
 * const desk = team("desk", route({ routes: { support, billing }, by: (q) => (q.includes("invoice") ? "billing" : "support") }));
 *
 * class Desk extends Agent {
 *   async ask(question: string) {
 *     const run = await desk.start(this, question);
 *     return run.result();
 *   }
 * }
 */
export class Team<I = unknown, O = unknown> {
  readonly name: string;
  readonly root: TeamNode;
  readonly options: TeamOptions;
  readonly version: string;
  readonly #prices: Record<string, ModelPrice>;

  constructor(name: string, root: TeamNode<I, O>, options: TeamOptions = {}) {
    if (typeof name !== "string" || !/^[A-Za-z0-9_.-]{1,64}$/.test(name)) throw new TypeError(`A team name must be 1-64 letters, digits, "_", "." or "-" (got ${JSON.stringify(name)})`);
    checkNode(root, `team("${name}") root`);
    resolveLimits(options.limits);
    this.name = name;
    this.root = root;
    this.options = options;
    this.version = options.version ?? shapeHash(root);
    this.#prices = { ...DEFAULT_PRICES, ...options.prices };
    teams.set(name, this as Team<unknown, unknown>);
  }

  /** Starts a run on `agent` (durably: it is recorded before this resolves) and returns its handle. */
  async start(agent: object, input: I, options: StartTeamRunOptions = {}): Promise<TeamRun<O>> {
    const admission = this.options.admission;
    if (!admission) return this.#start(agent, input, options);
    return new Promise<TeamRun<O>>((admitted, refused) => {
      const entry: TeamEntry = { team: this.name, input, ...pick(options) };
      admission
        .run(entry, async (_entry, signal) => {
          const run = await this.#start(agent, input, options);
          admitted(run);
          const cancel = () => void run.cancel(signal.reason instanceof Error ? signal.reason.message : "cancelled by flow control");
          signal.addEventListener("abort", cancel, { once: true });
          try {
            await untilStopped(run);
          } finally {
            signal.removeEventListener("abort", cancel);
          }
        })
        .catch(refused);
    });
  }

  async #start(agent: object, input: I, options: StartTeamRunOptions): Promise<TeamRun<O>> {
    const runtime = runtimeOf(agent);
    const journal = new TeamJournal(runtime.db);
    const id = options.runId ?? randomUUID();
    if (typeof id !== "string" || id.length === 0 || id.length > 128) throw new TypeError("runId must be 1-128 characters");
    if (!journal.run(id)) {
      const now = runtime.clock.now();
      const limits = resolveLimits(this.options.limits, options.limits);
      journal.createRun({ id, team: this.name, version: this.version, status: "running", input: structuredClone(input), limits, createdAt: now, ...pick(options) });
      emitEvent(agent, journal, { runId: id, type: "run-started", data: { team: this.name, version: this.version }, at: now });
      await journal.committed();
      this.#launch(agent, id);
    }
    return new TeamRun<O>(agent, id);
  }

  /** Starts a run and waits for its output. */
  async run(agent: object, input: I, options?: StartTeamRunOptions): Promise<O> {
    return (await this.start(agent, input, options)).result();
  }

  /** Runs of this team on `agent`, newest first. */
  list(agent: object, filter: { status?: TeamRunStatus[]; limit?: number } = {}): TeamRunRecord[] {
    return new TeamJournal(runtimeOf(agent).db).runs({ ...filter, team: this.name });
  }

  /** Executes (or goes on with) run `id` in a fiber of `agent`, unless it is executing already. */
  #launch(agent: object, id: string): void {
    const state = agentTeams(agent);
    const running = state.live.get(id);
    if (running) {
      running.again = true;
      return;
    }
    const controller = new AbortController();
    const live: LiveRun = { controller, done: Promise.resolve(), again: false };
    state.live.set(id, live);
    const fibers = agent as { runFiber?: (name: string, fn: () => Promise<void>) => Promise<void> };
    const execution = () => this.#execute(agent, id, controller);
    live.done = (typeof fibers.runFiber === "function" ? fibers.runFiber.call(agent, FIBER_PREFIX + id, execution) : execution())
      .catch((error: unknown) => {
        // Storage closed under it (shutdown, eviction): the fiber is recovered at the next start.
        if (runtimeOf(agent).db.isOpen) console.error(`[hearth] team run ${this.name}/${id}:`, error);
      })
      .finally(() => {
        if (state.live.get(id) === live) state.live.delete(id);
        if (live.again && !controller.signal.aborted) this.#launch(agent, id);
      });
  }

  async #execute(agent: object, id: string, controller: AbortController): Promise<void> {
    const runtime = runtimeOf(agent);
    const journal = new TeamJournal(runtime.db);
    const record = journal.run(id);
    if (!record || TERMINAL_STATUSES.has(record.status)) return;
    const now = () => runtime.clock.now();
    if (record.version !== this.version) {
      const error = { name: "TeamVersionError", message: `Team ${this.name} changed since run ${id} started (version ${record.version}, now ${this.version}); a run is pinned to the definition it started with` };
      finish(agent, journal, id, "failed", now(), { error });
      return;
    }
    const steps = journal.steps(id);
    const budget = new RunBudget(resolveLimits(record.limits as TeamLimits), this.#prices);
    for (const step of steps.values()) if ((step.kind === "member" || step.kind === "model") && step.status !== "waiting") budget.record(step.usage);
    const remaining = budget.limits.wallMs - record.elapsedMs;
    const timer = setTimeout(() => controller.abort(new RunStopped("wallMs", `Team run budget exhausted: wallMs (limit ${budget.limits.wallMs} ms of running time)`)), Math.max(0, remaining));
    if (record.status !== "running") journal.setStatus(id, "running", now());
    if (steps.size > 0) emitEvent(agent, journal, { runId: id, type: "run-resumed", data: { steps: steps.size }, at: now() });
    const scope: RunScope = {
      runId: id,
      team: this.name,
      owner: agent,
      journal,
      steps,
      budget,
      policy: this.options.onExhausted ?? "fail",
      signal: controller.signal,
      conversation: record.conversation,
      scratch: new Scratchpad(this.options.scratchpad),
      now,
      emit: (type, path, data) => emitEvent(agent, journal, { runId: id, type, ...(path !== undefined ? { path } : {}), ...(data !== undefined ? { data } : {}), at: now() }),
    };
    const startedAt = performance.now();
    try {
      const output = await execute(scope, this.root, record.input, { path: "", depth: 0, signal: controller.signal });
      finish(agent, journal, id, "completed", now(), { output });
      this.#prune(journal);
    } catch (error) {
      if (error instanceof RunSuspended) {
        journal.setStatus(id, "waiting", now());
        scope.emit("run-waiting", undefined, { approvals: error.approvals });
      } else if (error instanceof RunStopped && error.how === "pause") {
        journal.setStatus(id, "paused", now());
        scope.emit("run-paused", undefined, { reason: error.reason });
      } else if (error instanceof RunStopped && error.how === "cancel") {
        finish(agent, journal, id, "cancelled", now(), { error: { name: "TeamRunCancelledError", message: error.reason } });
      } else if (error instanceof RunStopped) {
        finish(agent, journal, id, "failed", now(), { error: { name: "BudgetExceededError", message: error.reason } });
      } else {
        finish(agent, journal, id, "failed", now(), { error: errorInfo(error) });
      }
    } finally {
      clearTimeout(timer);
      if (runtime.db.isOpen) {
        journal.addElapsed(id, performance.now() - startedAt);
        await journal.committed();
      }
    }
  }

  #finishedSincePrune = 0;

  /** Every 32nd completion: finished runs over `keepFinishedRuns` go (ids read, not whole runs). */
  #prune(journal: TeamJournal): void {
    if (++this.#finishedSincePrune < 32) return;
    this.#finishedSincePrune = 0;
    journal.pruneFinished(this.name, this.options.keepFinishedRuns ?? 1_000);
  }

  /** @internal Goes on with a run (after a restart, an approval or a resume). */
  continue(agent: object, id: string): void {
    this.#launch(agent, id);
  }
}

/**
 * Defines a team. See {@link Team}.
 * @example
 * const review = team("review", pipeline(draft, step(critic, { retries: 2 }), approval("Publish?"), publish), { limits: { tokens: 50_000 } });
 */
export function team<I = unknown, O = unknown>(name: string, root: TeamNode<I, O>, options?: TeamOptions): Team<I, O> {
  return new Team<I, O>(name, root, options);
}

/** A handle on one run: its record, its events, and the controls. */
export class TeamRun<O = unknown> {
  readonly id: string;
  readonly #agent: object;

  constructor(agent: object, id: string) {
    this.#agent = agent;
    this.id = id;
  }

  #journal(): TeamJournal {
    return new TeamJournal(runtimeOf(this.#agent).db);
  }

  /** The run as stored now. */
  record(): TeamRunRecord {
    const record = this.#journal().run(this.id);
    if (!record) throw new Error(`No team run ${this.id} on this agent`);
    return record;
  }

  /** Resolves with the output once the run completed; rejects if it failed or was cancelled (waits through approvals). */
  result(): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      const check = (): boolean => {
        const record = this.record();
        if (record.status === "completed") resolve(record.output as O);
        else if (record.status === "failed" || record.status === "cancelled") {
          const error = new Error(record.error?.message ?? record.status);
          error.name = record.error?.name ?? "Error";
          reject(error);
        } else return false;
        return true;
      };
      if (check()) return;
      const stop = this.watch((event) => {
        if (!event.type.startsWith("run-")) return; // only run events change its status
        try {
          if (check()) stop();
        } catch (error) {
          stop();
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    });
  }

  /** The events after `after` (a cursor: the last seq seen), oldest first. */
  events(after = 0, limit = 1000): TeamEvent[] {
    return this.#journal().events(this.id, after, limit);
  }

  /** Calls `listener` with every new event of the run; returns the unsubscribe function. */
  watch(listener: (event: TeamEvent) => void): () => void {
    const watchers = agentTeams(this.#agent).watchers;
    let set = watchers.get(this.id);
    if (!set) watchers.set(this.id, (set = new Set()));
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0 && watchers.get(this.id) === set) watchers.delete(this.id);
    };
  }

  /** Approvals the run waits for (anywhere in its tree). */
  approvals(): PendingApproval[] {
    const pending: PendingApproval[] = [];
    for (const step of this.#journal().steps(this.id).values()) {
      if (step.status !== "waiting") continue;
      const { prompt } = step.output as { prompt: string };
      pending.push({ path: step.path, prompt, kind: step.kind === "approval:budget" ? "budget" : "step" });
    }
    return pending;
  }

  /** Approves the step at `path` (`value` replaces its input, or extends the budget); the run goes on. */
  async approve(path: string, value?: unknown): Promise<void> {
    await this.#decide(path, (waiting, now) => ({ path, kind: waiting.kind, status: "done", output: value === undefined ? waiting.input : structuredClone(value), at: now }));
  }

  /** Rejects the step at `path`: it fails with ApprovalRejectedError, which fails the run unless a fallback catches it. */
  async reject(path: string, reason = "Rejected"): Promise<void> {
    await this.#decide(path, (_waiting, now) => ({ path, kind: "approval", status: "failed", error: { name: "ApprovalRejectedError", message: reason }, at: now }));
  }

  async #decide(path: string, decide: (waiting: { kind: string; input: unknown }, now: number) => Parameters<TeamJournal["writeStep"]>[1]): Promise<void> {
    const runtime = runtimeOf(this.#agent);
    const journal = this.#journal();
    const step = journal.steps(this.id).get(path);
    if (!step || step.status !== "waiting") throw new Error(`Team run ${this.id} waits for no approval at "${path}"`);
    const now = runtime.clock.now();
    journal.writeStep(this.id, decide({ kind: step.kind, input: (step.output as { input: unknown }).input }, now));
    emitEvent(this.#agent, journal, { runId: this.id, type: "approval-resolved", path, at: now });
    await journal.committed();
    this.#continueIf(["waiting", "running"]);
  }

  /** Stops the run after the steps under way; `resume()` goes on from there. */
  pause(reason = "paused"): void {
    agentTeams(this.#agent).live.get(this.id)?.controller.abort(new RunStopped("pause", reason));
  }

  /** Goes on with a paused or waiting run. */
  resume(): void {
    this.#continueIf(["paused", "waiting"]);
  }

  /** Cancels the run: steps under way are aborted (members get the signal); it ends `cancelled`. */
  async cancel(reason = "cancelled"): Promise<void> {
    const live = agentTeams(this.#agent).live.get(this.id);
    if (live) {
      live.controller.abort(new RunStopped("cancel", reason));
      await live.done;
      return;
    }
    const journal = this.#journal();
    const record = journal.run(this.id);
    if (!record || TERMINAL_STATUSES.has(record.status)) return;
    finish(this.#agent, journal, this.id, "cancelled", runtimeOf(this.#agent).clock.now(), { error: { name: "TeamRunCancelledError", message: reason } });
    await journal.committed();
  }

  #continueIf(statuses: TeamRunStatus[]): void {
    const record = this.record();
    if (!statuses.includes(record.status)) return;
    const definition = teams.get(record.team);
    if (!definition) throw new Error(`Team ${record.team} is not defined in this process: import the module that defines it`);
    definition.continue(this.#agent, this.id);
  }
}

/** Resolves once the run stops executing (it ended, waits for approval, or is paused). */
function untilStopped(run: TeamRun): Promise<void> {
  return new Promise<void>((resolve) => {
    const stopped = () => run.record().status !== "running";
    if (stopped()) return resolve();
    const stop = run.watch((event) => {
      if (event.type.startsWith("run-") && event.type !== "run-started" && event.type !== "run-resumed" && stopped()) {
        stop();
        resolve();
      }
    });
  });
}

/** Handle of run `id` of `agent`. */
export function teamRun<O = unknown>(agent: object, id: string): TeamRun<O> {
  return new TeamRun<O>(agent, id);
}

function finish(agent: object, journal: TeamJournal, id: string, status: TeamRunStatus, now: number, end: { output?: unknown; error?: { name: string; message: string } }): void {
  journal.setStatus(id, status, now, end);
  emitEvent(agent, journal, { runId: id, type: `run-${status}`, ...(end.error ? { data: { error: end.error } } : {}), at: now });
}

function emitEvent(agent: object, journal: TeamJournal, event: Omit<TeamEvent, "seq">): TeamEvent {
  const stored = journal.appendEvent(event);
  streamEvent(agent, stored);
  const watchers = byAgent.get(agent)?.watchers.get(event.runId);
  if (watchers) {
    for (const listener of [...watchers]) {
      try {
        listener(stored);
      } catch (error) {
        console.error("[hearth] a team run watcher failed:", error);
      }
    }
  }
  return stored;
}

function pick(options: StartTeamRunOptions): { key?: string; conversation?: string } {
  return { ...(options.key !== undefined ? { key: options.key } : {}), ...(options.conversation !== undefined ? { conversation: options.conversation } : {}) };
}

/**
 * A hash of the tree's shape: kinds, member names, route and branch names, in order. Descriptions,
 * prompts and code may change under a running run; a change of structure may not.
 */
function shapeHash(root: TeamNode): string {
  const shape = (node: TeamNode): unknown => {
    switch (node.kind) {
      case "member":
        return ["member", node.name];
      case "step":
        return ["step", shape(node.node), node.options.fallback ? shape(node.options.fallback) : null, node.options.degradeTo ? shape(node.options.degradeTo) : null, Boolean(node.options.needsApproval)];
      case "pipeline":
        return ["pipeline", node.steps.map(shape)];
      case "parallel":
        return ["parallel", Object.entries(node.branches).map(([name, child]) => [name, shape(child)])];
      case "map":
        return ["map", shape(node.node)];
      case "route":
        return ["route", Object.entries(node.routes).map(([name, child]) => [name, shape(child)])];
      case "branch":
        return ["branch", shape(node.then), node.else ? shape(node.else) : null];
      case "loop":
        return ["loop", shape(node.body)];
      case "fallback":
        return ["fallback", node.options.map(shape)];
      case "supervisor":
        return ["supervisor", node.name, node.members.map(shape)];
      case "handoff":
        return ["handoff", node.name, Object.entries(node.members).map(([name, child]) => [name, shape(child)])];
      case "approval":
        return ["approval"];
    }
  };
  return createHash("sha256").update(JSON.stringify(shape(root))).digest("hex").slice(0, 12);
}

registerFiberRecoverer(FIBER_PREFIX, (agent, ctx) => {
  const id = ctx.name.slice(FIBER_PREFIX.length);
  const record = new TeamJournal(runtimeOf(agent).db).run(id);
  if (!record || record.status !== "running") return;
  const definition = teams.get(record.team);
  if (!definition) {
    console.error(`[hearth] team run ${id} was interrupted, but team ${record.team} is not defined in this process: import the module that defines it`);
    return;
  }
  definition.continue(agent, id);
});
