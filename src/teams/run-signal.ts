/**
 * Team runs report their lifecycle (started, status changed, finished) on a process-wide diagnostics
 * channel, so an observer (the inspector's run index) can list every agent's runs without waking the
 * agents. While nobody subscribes, a report costs one `hasSubscribers` read and builds nothing.
 */
import { channel } from "node:diagnostics_channel";
import { DEFAULT_PRICES, type ModelPrice } from "../observability/cost/prices.ts";
import { costOf } from "./budget.ts";
import { TERMINAL_STATUSES, type TeamJournal, type TeamRunStatus } from "./journal.ts";
import { runtimeOf } from "./runtime-of.ts";
import type { MemberUsage } from "./member.ts";

/** The channel team runs report on. */
export const TEAM_RUN_CHANNEL = "hearth:team.run";

/** One report: the run as it is after the change. */
export interface TeamRunSignal {
  /** The run event that caused it: `run-started`, `run-resumed`, `run-waiting`, `run-paused`, `run-completed`, `run-failed`, `run-cancelled`, or `run-running` (a paused run going on before any step). */
  event: string;
  /** The owner's root agent class (binding name) and instance name. */
  className: string;
  name: string;
  /** Sub-agents from the root down to the owner (empty when the root owns the run). */
  sub: Array<{ className: string; name: string }>;
  /** The owner's SQLite file: tells hosts of one process apart. */
  databaseFile: string;
  runId: string;
  team: string;
  status: TeamRunStatus;
  /** Input plus output tokens of the steps journaled so far. */
  tokens: number;
  /** USD: what members reported, else priced with the team's prices over the default table. */
  costUsd: number;
  startedAt: number;
  updatedAt: number;
  /** When it ended; null while it is not finished. */
  endedAt: number | null;
}

const runs = channel(TEAM_RUN_CHANNEL);

/** Prices of a team by name (registered by the definition); the default table otherwise. */
const teamPrices = new Map<string, Readonly<Record<string, ModelPrice>>>();

/** Records the price table a team's costs are computed with. */
export function registerTeamPrices(team: string, prices: Readonly<Record<string, ModelPrice>>): void {
  teamPrices.set(team, prices);
}

/**
 * Reports run `runId` of `agent` as it is now in its journal (only when someone listens).
 * @example reportTeamRun(agent, journal, id, "run-started");
 */
export function reportTeamRun(agent: object, journal: TeamJournal, runId: string, event: string): void {
  if (!runs.hasSubscribers) return;
  const record = journal.run(runId);
  if (!record) return;
  const runtime = runtimeOf(agent);
  const { tokens, costUsd } = usageTotals(record.team, [...journal.steps(runId).values()].map((step) => step.usage));
  const path = ownerPath(agent, runtime);
  const signal: TeamRunSignal = {
    event,
    className: path[0]!.className,
    name: path[0]!.name,
    sub: path.slice(1),
    databaseFile: runtime.db.path,
    runId,
    team: record.team,
    status: record.status,
    tokens,
    costUsd,
    startedAt: record.createdAt,
    updatedAt: record.updatedAt,
    endedAt: TERMINAL_STATUSES.has(record.status) ? record.updatedAt : null,
  };
  runs.publish(signal);
}

/**
 * Tokens and USD of a run's journaled usages, priced like the run's reports.
 * @example const { tokens, costUsd } = usageTotals("desk", [{ model: "gpt-5-mini", inputTokens: 10, outputTokens: 5 }]);
 */
export function usageTotals(team: string, usages: Iterable<MemberUsage | undefined>): { tokens: number; costUsd: number } {
  const prices = teamPrices.get(team) ?? DEFAULT_PRICES;
  let tokens = 0;
  let costUsd = 0;
  for (const usage of usages) {
    if (!usage) continue;
    tokens += (usage.inputTokens ?? 0) + (usage.outputTokens ?? 0);
    costUsd += costOf(usage, prices);
  }
  return { tokens, costUsd };
}

/**
 * Calls `listener` with every team run report until the returned function is called.
 * @example
 * const stop = subscribeTeamRuns((signal) => console.log(signal.team, signal.status));
 */
export function subscribeTeamRuns(listener: (signal: TeamRunSignal) => void): () => void {
  const onMessage = (message: unknown) => listener(message as TeamRunSignal);
  runs.subscribe(onMessage);
  return () => void runs.unsubscribe(onMessage);
}

/** The owner from its root down: a sub-agent knows its path; other actors are their root. */
function ownerPath(agent: object, runtime: ReturnType<typeof runtimeOf>): Array<{ className: string; name: string }> {
  const self = (agent as { selfPath?: unknown }).selfPath;
  if (Array.isArray(self) && self.length > 0) return (self as Array<{ className: string; name: string }>).map((step) => ({ className: step.className, name: step.name }));
  return [{ className: runtime.lineage.rootClassName, name: runtime.lineage.rootName }];
}
