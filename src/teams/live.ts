/**
 * What the process knows of team runs beyond their journals: the runs executing now and the watchers
 * of each run, per owner agent; the team definitions by name (a run resumed after a restart finds its
 * definition here); and the two writes every state change makes — the journal row and the event.
 */
import { TeamJournal, type TeamEvent, type TeamRunStatus } from "./journal.ts";
import { reportTeamRun } from "./run-signal.ts";
import { runtimeOf } from "./runtime-of.ts";
import { streamEvent } from "./stream.ts";

/** A definition a run can be continued by. */
export interface ContinuableTeam {
  readonly name: string;
  /** Executes (or goes on with) run `id` of `agent`. */
  continue(agent: object, id: string): void;
}

const definitions = new Map<string, ContinuableTeam>();

/** The feature task that looks again at a run waiting on a member's own run. */
export const NESTED_CHECK_TASK = "hearth:team.check";

/** Records a definition under its name (the last one defined wins). */
export function registerTeam(definition: ContinuableTeam): void {
  definitions.set(definition.name, definition);
}

/** The definition named `name`, or a clear error when the module defining it was not loaded. */
export function teamNamed(name: string): ContinuableTeam {
  const definition = definitions.get(name);
  if (!definition) throw new Error(`Team ${name} is not defined in this process: import the module that defines it`);
  return definition;
}

export interface LiveRun {
  controller: AbortController;
  done: Promise<void>;
  /** Asked to go on while it was ending (an approval just after it suspended, a resume after a pause): execute again. */
  again: boolean;
  /** The last stop asked of this execution: the run ends as the last pause or resume said; a cancel is final. */
  stop?: "pause" | "cancel";
}

/** Per agent: runs executing now, and watchers of runs (live or not). */
interface AgentTeams {
  live: Map<string, LiveRun>;
  watchers: Map<string, Set<(event: TeamEvent) => void>>;
}
const byAgent = new WeakMap<object, AgentTeams>();

export function agentTeams(agent: object): AgentTeams {
  let state = byAgent.get(agent);
  if (!state) byAgent.set(agent, (state = { live: new Map(), watchers: new Map() }));
  return state;
}

export function finish(agent: object, journal: TeamJournal, id: string, status: TeamRunStatus, now: number, end: { output?: unknown; error?: { name: string; message: string } }): void {
  journal.setStatus(id, status, now, end);
  emitEvent(agent, journal, { runId: id, type: `run-${status}`, ...(end.error ? { data: { error: end.error } } : {}), at: now });
}

export function emitEvent(agent: object, journal: TeamJournal, event: Omit<TeamEvent, "seq">): TeamEvent {
  const stored = journal.appendEvent(event);
  streamEvent(agent, stored);
  if (event.type.startsWith("run-")) reportTeamRun(agent, journal, event.runId, event.type);
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

/**
 * A member run stopped (ended, or waits for a person): the parent's run goes on and reads it. If this
 * message is lost in a crash, the parent's own check (`hearth:team.check`) finds the outcome later.
 */
export function tellParent(runtime: ReturnType<typeof runtimeOf>, parent: { team: string; runId: string }): void {
  void runtime
    .atParent((actor) => {
      const status = new TeamJournal(runtimeOf(actor).db).run(parent.runId)?.status;
      if (status === "waiting" || status === "running") teamNamed(parent.team).continue(actor, parent.runId);
    })
    .catch((error: unknown) => console.error(`[hearth] team run ${parent.runId}: could not be told that a member run stopped:`, error));
}
