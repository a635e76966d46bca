/**
 * A team and its runs. A run belongs to one agent (its owner): it is journaled in that agent's
 * SQLite, executes in a fiber of that agent, and after a crash the host wakes the agent and the run
 * goes on from its journal. `waiting` (for approvals) and `paused` runs hold no memory.
 */
import { randomUUID } from "node:crypto";
import { registerFiberRecoverer, RUN_FEATURE_FIBER, type FeatureFiberRunner } from "../fiber/feature-recovery.ts";
import { registerTaskHandler } from "../schedule/task-handlers.ts";
import type { FlowControl } from "../flow-control/index.ts";
import { saveEarlierGrants } from "./approvals.ts";
import { DEFAULT_PRICES, resolveLimits, RunBudget, type ExhaustedPolicy, type ModelPrice, type TeamLimits } from "./budget.ts";
import { errorInfo, RunStopped, RunSuspended } from "./errors.ts";
import { execute } from "./execute.ts";
import { TERMINAL_STATUSES, TeamJournal, type TeamRunRecord, type TeamRunStatus } from "./journal.ts";
import { agentTeams, emitEvent, finish, NESTED_CHECK_TASK, registerTeam, tellParent, teamNamed, type LiveRun } from "./live.ts";
import { runtimeOf } from "./runtime-of.ts";
import { checkNode, type TeamNode } from "./nodes.ts";
import { TeamRun, untilStopped } from "./run.ts";
import { registerTeamPrices, reportTeamRun } from "./run-signal.ts";
import { Scratchpad, type ScratchpadSpec } from "./scratchpad.ts";
import type { RunScope } from "./scope.ts";
import type { Clock } from "../time/clock.ts";
import { shapeHash } from "./shape.ts";

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
  /** @internal The parent's run this run is a member call of (see `teamMember`): told when this run stops. */
  parent?: { team: string; runId: string };
}

const FIBER_PREFIX = "hearth:team:";


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
    registerTeam(this);
    registerTeamPrices(name, this.#prices);
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
    const existing = journal.run(id);
    if (existing && existing.team !== this.name) throw new TypeError(`Team run ${id} exists already and belongs to team ${existing.team}, not ${this.name}`);
    if (!existing) {
      const now = runtime.clock.now();
      const limits = resolveLimits(this.options.limits, options.limits);
      const parent = options.parent ? { parent: options.parent } : {};
      journal.createRun({ id, team: this.name, version: this.version, status: "running", input: structuredClone(input), limits, createdAt: now, ...pick(options), ...parent });
      emitEvent(agent, journal, { runId: id, type: "run-started", data: { team: this.name, version: this.version }, at: now });
      // The fiber's record joins the run's commit: a crash can never leave the run without what resumes it.
      this.#launch(agent, id);
      await journal.committed();
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
    const fibers = agent as Partial<FeatureFiberRunner>;
    const execution = () => this.#execute(agent, id, controller);
    // A fiber starts its function once the record it commits with is committed; without fibers, wait
    // for that commit here (the run's record, read first thing, is then there or not at all).
    const started = typeof fibers[RUN_FEATURE_FIBER] === "function" ? fibers[RUN_FEATURE_FIBER](FIBER_PREFIX + id, execution) : Promise.resolve(runtimeOf(agent).db.whenCommitted()).then(execution);
    live.done = started
      .catch((error: unknown) => {
        // Storage closed under it (shutdown, eviction): the fiber is recovered at the next start.
        if (runtimeOf(agent).db.isOpen) console.error(`[hearth] team run ${this.name}/${id}:`, error);
      })
      .finally(() => {
        if (state.live.get(id) === live) state.live.delete(id);
        // Once more if asked to, unless the last word was a pause or a cancel; a resume after a pause clears it.
        if (live.again && live.stop === undefined && (!controller.signal.aborted || isPause(controller.signal.reason))) this.#launch(agent, id);
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
    // The run's limits hold every extension granted; only grants journaled by an older version are saved now.
    const budget = new RunBudget(saveEarlierGrants(journal, id, steps, resolveLimits(record.limits as TeamLimits)), this.#prices);
    for (const step of steps.values()) if ((step.kind === "member" || step.kind === "model") && step.status !== "waiting") budget.record(step.usage, step.member);
    // Before the timers are armed: a failure here leaves none behind (only the try below disarms them).
    if (record.status !== "running") {
      journal.setStatus(id, "running", now());
      if (steps.size === 0) reportTeamRun(agent, journal, id, "run-running"); // no run-resumed event follows
    }
    if (steps.size > 0) emitEvent(agent, journal, { runId: id, type: "run-resumed", data: { steps: steps.size }, at: now() });
    // Wall time is the owner's clock, saved as it passes (not only when an execution ends): a run whose
    // host dies mid-step counts the time it spent, instead of starting over at every boot.
    const clock = runtime.clock;
    let counted = clock.now();
    const saveElapsed = () => {
      const at = clock.now();
      journal.addElapsed(id, at - counted);
      counted = at;
    };
    const outOfTime = () => controller.abort(new RunStopped("wallMs", `Team run budget exhausted: wallMs (limit ${budget.limits.wallMs} ms of running time)`));
    const remaining = budget.limits.wallMs - record.elapsedMs;
    if (remaining <= 0) outOfTime();
    const cancelTimer = remaining > 0 ? clock.setTimer(counted + remaining, outOfTime) : () => {};
    const stopSaving = saveElapsedEvery(clock, elapsedSaveMs(budget.limits.wallMs), () => {
      if (!runtime.db.isOpen) return false; // closed under it: the next boot goes on from what was saved
      saveElapsed();
      return true;
    });
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
      clock,
      now,
      emit: (type, path, data) => emitEvent(agent, journal, { runId: id, type, ...(path !== undefined ? { path } : {}), ...(data !== undefined ? { data } : {}), at: now() }),
    };
    let ended = false;
    try {
      const output = await execute(scope, this.root, record.input, { path: "", depth: 0, signal: controller.signal });
      finish(agent, journal, id, "completed", now(), { output });
      ended = true;
    } catch (error) {
      const paused: unknown = controller.signal.reason;
      if (error instanceof RunSuspended && !isPause(paused)) {
        journal.setStatus(id, "waiting", now());
        scope.emit("run-waiting", undefined, { approvals: error.approvals });
      } else if (error instanceof RunSuspended || (error instanceof RunStopped && error.how === "pause")) {
        // A pause that landed while the run suspended for an approval wins: resuming waits for it again.
        journal.setStatus(id, "paused", now());
        scope.emit("run-paused", undefined, { reason: isPause(paused) ? paused.reason : "paused" });
      } else if (error instanceof RunStopped && error.how === "cancel") {
        finish(agent, journal, id, "cancelled", now(), { error: { name: "TeamRunCancelledError", message: error.reason } });
        ended = true;
      } else if (error instanceof RunStopped) {
        finish(agent, journal, id, "failed", now(), { error: { name: "BudgetExceededError", message: error.reason } });
        ended = true;
      } else {
        finish(agent, journal, id, "failed", now(), { error: errorInfo(error) });
        ended = true;
      }
    } finally {
      cancelTimer();
      stopSaving();
      // Failed and cancelled runs count toward keepFinishedRuns as completed ones do.
      if (ended && runtime.db.isOpen) this.#prune(journal);
      if (runtime.db.isOpen) {
        saveElapsed();
        await journal.committed();
        if (record.parent) tellParent(runtime, record.parent);
      }
    }
  }

  /** From 31: the first run a process finishes prunes (a process that finishes few runs still does). */
  #finishedSincePrune = 31;

  /** Every 32nd run that ends (completed, failed or cancelled): finished runs over `keepFinishedRuns` go (ids read, not whole runs). */
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


/** How often an executing run saves its elapsed time: a tenth of its wallMs, within 100 ms – 10 s. */
function elapsedSaveMs(wallMs: number): number {
  return Math.min(10_000, Math.max(100, wallMs / 10));
}

/** Calls `save` every `ms` on `clock` while it returns true; returns the stop function. */
function saveElapsedEvery(clock: Clock, ms: number, save: () => boolean): () => void {
  let cancel = () => {};
  const arm = () => {
    cancel = clock.setTimer(clock.now() + ms, () => {
      if (save()) arm();
    });
  };
  arm();
  return () => cancel();
}

function isPause(reason: unknown): reason is RunStopped {
  return reason instanceof RunStopped && reason.how === "pause";
}

function pick(options: StartTeamRunOptions): { key?: string; conversation?: string } {
  return { ...(options.key !== undefined ? { key: options.key } : {}), ...(options.conversation !== undefined ? { conversation: options.conversation } : {}) };
}


registerFiberRecoverer(FIBER_PREFIX, (agent, ctx) => {
  const id = ctx.name.slice(FIBER_PREFIX.length);
  const record = new TeamJournal(runtimeOf(agent).db).run(id);
  // A waiting run's fiber was launched by an approval (or was suspending): going on re-checks its
  // approvals and waits again if they are not all given. A paused run stays paused (resume() marks it running).
  if (!record || (record.status !== "running" && record.status !== "waiting")) return;
  try {
    teamNamed(record.team).continue(agent, id);
  } catch (error) {
    console.error(`[hearth] team run ${id} was interrupted:`, (error as Error).message);
  }
});

registerTaskHandler(NESTED_CHECK_TASK, (agent, payload) => {
  const { team: name, runId } = payload as { team: string; runId: string };
  if (new TeamJournal(runtimeOf(agent).db).run(runId)?.status === "waiting") teamNamed(name).continue(agent, runId);
});
