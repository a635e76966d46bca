/**
 * A handle on one team run: its record, its events, its approvals, and the controls (pause, resume,
 * cancel). Works on runs executing now and on runs that wait, are paused or ended.
 */
import { saveGrant } from "./approvals.ts";
import { RunStopped, type PendingApproval } from "./errors.ts";
import { TERMINAL_STATUSES, TeamJournal, type TeamEvent, type TeamRunRecord, type TeamRunStatus } from "./journal.ts";
import { IN_SUB_AGENT } from "../sub-agents/sub-agent-agent.ts";
import { agentTeams, emitEvent, finish, tellParent, teamNamed } from "./live.ts";
import { runtimeOf } from "./runtime-of.ts";
import { reportTeamRun } from "./run-signal.ts";
import { CHILD_RUN_KIND, NESTED_SEPARATOR, type NestedChild } from "./team-member.ts";

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

  /** Approvals the run waits for (anywhere in its tree); none once it ended. */
  approvals(): PendingApproval[] {
    const journal = this.#journal();
    const record = journal.run(this.id);
    // An ended run keeps the rows of approvals it was waiting for (its history), but waits for none.
    if (!record || TERMINAL_STATUSES.has(record.status)) return [];
    const pending: PendingApproval[] = [];
    for (const step of journal.steps(this.id).values()) {
      if (step.status !== "waiting" || step.kind === CHILD_RUN_KIND) continue;
      const { prompt } = step.output as { prompt: string };
      pending.push({ path: step.path, prompt, kind: step.kind === "approval:budget" ? "budget" : "step" });
    }
    return pending;
  }

  /** Approves the step at `path` (`value` replaces its input, or extends the budget); the run goes on. */
  async approve(path: string, value?: unknown): Promise<void> {
    await this.#decide(
      path,
      (waiting, now) => ({ path, kind: waiting.kind, status: "done", output: approvedValue(waiting, value), at: now }),
      (run, childPath) => run.approve(childPath, value),
    );
  }

  /** Rejects the step at `path`: it fails with ApprovalRejectedError, which fails the run (final: no fallback or retry catches it). */
  async reject(path: string, reason = "Rejected"): Promise<void> {
    await this.#decide(
      path,
      (_waiting, now) => ({ path, kind: "approval", status: "failed", error: { name: "ApprovalRejectedError", message: reason }, at: now }),
      (run, childPath) => run.reject(childPath, reason),
    );
  }

  async #decide(
    path: string,
    decide: (waiting: { kind: string; input: unknown }, now: number) => Parameters<TeamJournal["writeStep"]>[1],
    forward: (run: TeamRun, childPath: string) => Promise<void>,
  ): Promise<void> {
    const runtime = runtimeOf(this.#agent);
    const journal = this.#journal();
    const status = this.record().status;
    if (TERMINAL_STATUSES.has(status)) throw new Error(`Team run ${this.id} is ${status}: it waits for no approval`);
    const step = journal.steps(this.id).get(path);
    if (!step || step.status !== "waiting" || step.kind === CHILD_RUN_KIND) throw new Error(`Team run ${this.id} waits for no approval at "${path}"`);
    const now = runtime.clock.now();
    const decided = decide({ kind: step.kind, input: (step.output as { input: unknown }).input }, now);
    if (step.kind === "approval:budget" && decided.status === "done") decided.output = saveGrant(journal, this.id, decided.output as Parameters<typeof saveGrant>[2]);
    if (step.kind === "approval:nested") {
      // The approval belongs to a member's own run: decided there; that run tells this one when it stops.
      const { child } = step.output as { child: NestedChild };
      const childPath = path.slice(path.indexOf(NESTED_SEPARATOR) + NESTED_SEPARATOR.length);
      const owner = this.#agent as { [IN_SUB_AGENT]?: (cls: string, name: string, task: (child: object) => Promise<void>) => Promise<void> };
      await owner[IN_SUB_AGENT]!(child.className, child.instance, (actor) => forward(teamRun(actor, child.runId), childPath));
      // Meanwhile the member's run may have gone on and told this one, which settled its copy already.
      if (journal.steps(this.id).get(path)?.status !== "waiting") return;
    }
    journal.writeStep(this.id, decided);
    emitEvent(this.#agent, journal, { runId: this.id, type: "approval-resolved", path, at: now });
    // Launched before the commit: the decision and the fiber that goes on with it are one write. A
    // paused run records the decision and goes on only once resumed.
    if (step.kind !== "approval:nested") this.#continueIf(["waiting", "running"]);
    await journal.committed();
  }

  /**
   * Stops the run after the steps under way; `resume()` goes on from there. The last of pause and resume
   * holds, also while the run is still stopping (a run suspending for an approval ends paused).
   */
  pause(reason = "paused"): void {
    const live = agentTeams(this.#agent).live.get(this.id);
    if (!live) {
      // Waiting for approvals: it stays where it is until resume(), even once they are given.
      const journal = this.#journal();
      if (journal.run(this.id)?.status === "waiting") {
        const now = runtimeOf(this.#agent).clock.now();
        journal.setStatus(this.id, "paused", now);
        emitEvent(this.#agent, journal, { runId: this.id, type: "run-paused", data: { reason }, at: now });
      }
    } else if (live.stop !== "cancel") {
      live.stop = "pause";
      live.again = false;
      live.controller.abort(new RunStopped("pause", reason));
      // It stopped for an approval just now and is still ending: it is paused rather than waiting.
      const journal = this.#journal();
      if (journal.run(this.id)?.status === "waiting") {
        const now = runtimeOf(this.#agent).clock.now();
        journal.setStatus(this.id, "paused", now);
        emitEvent(this.#agent, journal, { runId: this.id, type: "run-paused", data: { reason }, at: now });
      }
    }
    void this.#forEachChildRun((run) => Promise.resolve(run.pause(reason))).catch((error: unknown) => console.error(`[hearth] team run ${this.id}: pausing a member's run failed:`, error));
  }

  /** Runs `act` on the runs of members (`teamMember`) this run waits on, in their own agents. */
  async #forEachChildRun(act: (run: TeamRun) => Promise<void>): Promise<void> {
    const owner = this.#agent as { [IN_SUB_AGENT]?: (cls: string, name: string, task: (child: object) => Promise<void>) => Promise<void> };
    for (const step of this.#journal().steps(this.id).values()) {
      if (step.kind !== CHILD_RUN_KIND || step.status !== "waiting" || typeof owner[IN_SUB_AGENT] !== "function") continue;
      const { child } = step.output as { child: NestedChild };
      await owner[IN_SUB_AGENT](child.className, child.instance, (actor) => act(teamRun(actor, child.runId)));
    }
  }

  /** Goes on with a paused or waiting run (or one a pause is still stopping: it goes on once stopped). */
  resume(): void {
    const live = agentTeams(this.#agent).live.get(this.id);
    if (live?.stop === "pause") {
      live.stop = undefined;
      live.again = true;
    } else {
      const journal = this.#journal();
      const record = journal.run(this.id);
      if (!live && record?.status === "paused") {
        // Running in the same write as the fiber that goes on with it: after a crash in between, the
        // recovery goes on with it (a paused run's leftover fiber is not resumed).
        journal.setStatus(this.id, "running", runtimeOf(this.#agent).clock.now());
        if (journal.steps(this.id).size === 0) reportTeamRun(this.#agent, journal, this.id, "run-running"); // no run-resumed event follows
        teamNamed(record.team).continue(this.#agent, this.id);
      } else this.#continueIf(["paused", "waiting"]);
    }
    // Members' runs paused with this one go on with it.
    void this.#forEachChildRun((run) => Promise.resolve(run.resume())).catch((error: unknown) => console.error(`[hearth] team run ${this.id}: resuming a member's run failed:`, error));
  }

  /** Cancels the run: steps under way are aborted (members get the signal); it ends `cancelled`. */
  async cancel(reason = "cancelled"): Promise<void> {
    // An approval or resume that lands while an execution stops may launch another: each is stopped
    // in turn, so none is left running under a run journaled cancelled.
    for (let live = agentTeams(this.#agent).live.get(this.id); live; ) {
      live.stop = "cancel";
      live.again = false;
      live.controller.abort(new RunStopped("cancel", reason));
      await live.done;
      const next = agentTeams(this.#agent).live.get(this.id);
      live = next === live ? undefined : next;
    }
    // Also when it was executing: it may have suspended or paused before it saw the abort.
    const journal = this.#journal();
    const record = journal.run(this.id);
    if (record && !TERMINAL_STATUSES.has(record.status)) {
      finish(this.#agent, journal, this.id, "cancelled", runtimeOf(this.#agent).clock.now(), { error: { name: "TeamRunCancelledError", message: reason } });
      await journal.committed();
      // A member's run cancelled in its own agent: no execution ends to tell the parent's run, which waits on it.
      if (record.parent) tellParent(runtimeOf(this.#agent), record.parent);
    }
    // After this run ended: a member's run that stops tells this one, which must not go on then.
    await this.#forEachChildRun((run) => run.cancel(reason));
  }

  #continueIf(statuses: TeamRunStatus[]): void {
    const record = this.record();
    if (!statuses.includes(record.status)) return;
    teamNamed(record.team).continue(this.#agent, this.id);
  }
}

/**
 * What an approval is journaled with: the value given, else the step's input. A budget grant keeps the
 * limit that ran out: granting nothing doubles that one.
 */
function approvedValue(waiting: { kind: string; input: unknown }, value: unknown): unknown {
  if (waiting.kind !== "approval:budget") return value === undefined ? waiting.input : structuredClone(value);
  const { limit } = waiting.input as { limit: string };
  return typeof value === "object" && value !== null && !Array.isArray(value) ? { ...(structuredClone(value) as object), limit } : { limit };
}

/** Resolves once the run stops executing (it ended, waits for approval, or is paused). */
export function untilStopped(run: TeamRun): Promise<void> {
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
