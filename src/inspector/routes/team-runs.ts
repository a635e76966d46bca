/**
 * Team runs (docs/inspector/api.md §Workflows and team runs): every agent's runs from the run index
 * (no agent is woken), one agent's runs and a run's step timeline from the owner's journal (inside
 * the agent), and the controls the teams API has — start, cancel, pause, resume, approve, reject —
 * plus restart (a new run of the same team with the same input). Approvals are the only event a
 * waiting team run accepts, so approve/reject are a team run's "send event".
 */
import { TERMINAL_STATUSES, type TeamRunStatus } from "../../teams/journal.ts";
import { teamNamed } from "../../teams/live.ts";
import type { MemberUsage } from "../../teams/member.ts";
import { teamRun, type TeamRun } from "../../teams/run.ts";
import { usageTotals } from "../../teams/run-signal.ts";
import { readStepInputs, type JournaledInput } from "../../teams/step-inputs.ts";
import type { AgentDatabase } from "../../storage/database.ts";
import { ApiError, badRequest, cursorOffset, notFound, offsetCursor, pageLimit, storedJson } from "../http.ts";
import type { Route, RouteContext } from "../router.ts";
import { subLabel, type IndexedTeamRun, type TeamRunIndex } from "../team-run-index.ts";
import { agentAddress, inAgentBase, type AgentAddress } from "./agent-address.ts";

const STATUSES: readonly TeamRunStatus[] = ["running", "waiting", "paused", "completed", "failed", "cancelled"];

interface RunRow {
  id: string;
  team: string;
  status: string;
  created_at: number;
  updated_at: number;
}

/** A run's summary, as the list and the index have it. */
function summaryOf(db: AgentDatabase, address: AgentAddress, row: RunRow): IndexedTeamRun {
  const usages = (db.statement("SELECT usage FROM _hearth_team_steps WHERE run_id = ? AND usage IS NOT NULL").all(row.id) as Array<{ usage: string }>).map((step) => storedJson(step.usage) as MemberUsage);
  const ended = TERMINAL_STATUSES.has(row.status as TeamRunStatus);
  return {
    class: address.className,
    name: address.name,
    sub: subLabel(address.sub),
    runId: row.id,
    team: row.team,
    status: row.status,
    startedAt: row.created_at,
    updatedAt: row.updated_at,
    endedAt: ended ? row.updated_at : null,
    ...usageTotals(row.team, usages),
  };
}

/** Team runs this agent owns, newest first (each also goes into the index). */
function agentRuns(db: AgentDatabase, address: AgentAddress, offset: number, limit: number, index: TeamRunIndex) {
  if (!db.hasTable("_hearth_team_runs")) return { items: [], nextOffset: null };
  const rows = db.statement("SELECT id, team, status, created_at, updated_at FROM _hearth_team_runs ORDER BY created_at DESC, id LIMIT ? OFFSET ?").all(limit + 1, offset) as unknown as RunRow[];
  const items = rows.slice(0, limit).map((row) => summaryOf(db, address, row));
  for (const item of items) index.upsert(item);
  return { items, nextOffset: rows.length > limit ? offset + limit : null };
}

/** A run with its step timeline: started (from the run's events) and ended (from the journal). */
function runDetail(db: AgentDatabase, agent: object, address: AgentAddress, runId: string, index: TeamRunIndex) {
  const row = db.hasTable("_hearth_team_runs") ? (db.statement("SELECT * FROM _hearth_team_runs WHERE id = ?").get(runId) as (RunRow & Record<string, unknown>) | undefined) : undefined;
  if (!row) throw notFound(`${address.label} has no team run ${JSON.stringify(runId)}`);
  const started = new Map(
    (db.statement("SELECT path, min(at) AS at FROM _hearth_team_events WHERE run_id = ? AND type = 'step-started' GROUP BY path").all(runId) as Array<{ path: string; at: number }>).map((event) => [event.path, event.at]),
  );
  const journaled = db.statement("SELECT path, kind, member, status, output, error, usage, at FROM _hearth_team_steps WHERE run_id = ? ORDER BY at, path").all(runId) as Array<Record<string, unknown>>;
  const inputs = readStepInputs(db, runId);
  const steps = journaled.map((step) => ({
    id: String(step.path),
    node: String(step.kind),
    member: step.member ?? null,
    status: String(step.status),
    startedAt: started.get(String(step.path)) ?? null,
    endedAt: step.status === "waiting" ? null : Number(step.at),
    ...stepInput(inputs.get(String(step.path))),
    output: storedJson(step.output),
    error: storedJson(step.error),
    tokens: usageTotals(row.team, [storedJson(step.usage) as MemberUsage | undefined]).tokens,
  }));
  const done = new Set(steps.map((step) => step.id));
  for (const [path, at] of started) {
    if (!done.has(path)) steps.push({ id: path, node: "step", member: null, status: "started", startedAt: at, endedAt: null, ...stepInput(inputs.get(path)), output: null, error: null, tokens: 0 });
  }
  const summary = summaryOf(db, address, row);
  index.upsert(summary);
  return {
    ...summary,
    input: storedJson(row.input),
    output: storedJson(row.output),
    error: storedJson(row.error),
    approvals: teamRun(agent, runId).approvals(),
    steps,
  };
}

/** How a step's input is answered: `input` with its `inputState` (and size, or why it is missing). */
export interface StepInputView {
  /** The input; a truncated one's preview text (ending in the marker); null when there is none. */
  input: unknown;
  inputState: JournaledInput["state"] | "not-recorded";
  /** Characters of the input's JSON (the whole input's, for a truncated one). */
  inputChars?: number;
  /** Why an unserializable input could not be kept. */
  inputNote?: string;
}

function stepInput(input: JournaledInput | undefined): StepInputView {
  if (input === undefined) return { input: null, inputState: "not-recorded" };
  if (input.state === "recorded") return { input: input.value, inputState: "recorded", inputChars: input.chars };
  if (input.state === "truncated") return { input: input.preview, inputState: "truncated", inputChars: input.chars };
  return { input: null, inputState: "unserializable", inputNote: input.reason };
}

/** Runs `act` on the run the URL names, inside its owner; 404 when the owner has no such run. */
function onRun<T>(ctx: RouteContext, act: (run: TeamRun, status: TeamRunStatus) => T | Promise<T>): Promise<T> {
  const runId = ctx.params.runId!;
  return inAgentBase(ctx, ({ agent, db }, address) => {
    const row = db.hasTable("_hearth_team_runs") ? (db.statement("SELECT status FROM _hearth_team_runs WHERE id = ?").get(runId) as { status: TeamRunStatus } | undefined) : undefined;
    if (!row) throw notFound(`${address.label} has no team run ${JSON.stringify(runId)}`);
    return act(teamRun(agent, runId), row.status);
  });
}

/** A run's audit target: its owner's whole path (a sub-agent's included), then the run id. */
function runTarget(ctx: RouteContext): string {
  return `${agentAddress(ctx).label}/${ctx.params.runId!}`;
}

function stateError(message: string): ApiError {
  return new ApiError(409, "team_run_state", message);
}

/** What the teams API refused (a path without an approval, a team not defined here) as a 409. */
async function refusedAs409<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw stateError(error instanceof Error ? error.message : String(error));
  }
}

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw badRequest(`${key} must be a string`);
  return value;
}

/** A control: checks the status it needs, acts, audits, answers the status after it. */
function control(action: "cancel" | "pause" | "resume", allowed: readonly TeamRunStatus[], act: (run: TeamRun, reason: string | undefined) => void | Promise<void>): Route {
  return {
    method: "POST",
    path: `/api/team-runs/:class/:name/:runId/${action}`,
    write: true,
    handler: async (ctx) => {
      const body = await ctx.body();
      const reason = optionalString(body, "reason");
      const target = runTarget(ctx);
      const status = await ctx.audited(`team-run.${action}`, target, reason === undefined ? {} : { reason }, async () => {
        const after = await onRun(ctx, async (run, before) => {
          if (!allowed.includes(before)) throw stateError(`Team run ${run.id} is ${before}: only a ${allowed.join(" or ")} run can be ${action === "cancel" ? "cancelled" : action === "pause" ? "paused" : "resumed"}`);
          await refusedAs409(async () => act(run, reason));
          return run.record().status;
        });
        return { result: after, after };
      });
      return { json: { status } };
    },
  };
}

function decision(action: "approve" | "reject"): Route {
  return {
    method: "POST",
    path: `/api/team-runs/:class/:name/:runId/${action}`,
    write: true,
    handler: async (ctx) => {
      const body = await ctx.body();
      if (typeof body.path !== "string" || body.path === "") throw badRequest(`The body must be { path: string${action === "approve" ? ", value?" : ", reason?: string"} } (path: one of the run's approvals)`);
      const path = body.path;
      const reason = action === "reject" ? optionalString(body, "reason") : undefined;
      const target = runTarget(ctx);
      const status = await ctx.audited(`team-run.${action}`, target, { path, ...(reason === undefined ? {} : { reason }) }, async () => ({
        result: await onRun(ctx, async (run) => {
          await refusedAs409(() => (action === "approve" ? run.approve(path, body.value) : run.reject(path, reason)));
          return run.record().status;
        }),
      }));
      return { json: { status } };
    },
  };
}

/**
 * Restart: a new run of the same team in the same owner, with the same input (and key and
 * conversation); the run restarted from stays as it is. Refused (409) while the run has not ended.
 */
function restartRoute(): Route {
  return {
    method: "POST",
    path: "/api/team-runs/:class/:name/:runId/restart",
    write: true,
    status: 201,
    handler: async (ctx) => {
      const body = await ctx.body();
      const newRunId = optionalString(body, "runId");
      const from = ctx.params.runId!;
      const target = runTarget(ctx);
      // The audit row names the new run: `detail` is read once the change is done.
      const detail: Record<string, unknown> = { runId: newRunId ?? null };
      const runId = await ctx.audited("team-run.restart", target, detail, async () => {
        const id = await inAgentBase(ctx, async ({ agent, db }, address) => {
          const status = db.hasTable("_hearth_team_runs") ? (db.statement("SELECT status FROM _hearth_team_runs WHERE id = ?").get(from) as { status: TeamRunStatus } | undefined)?.status : undefined;
          if (status === undefined) throw notFound(`${address.label} has no team run ${JSON.stringify(from)}`);
          // A run can be restarted once it ended.
          if (!TERMINAL_STATUSES.has(status)) throw stateError(`Team run ${from} is ${status}: only a ${[...TERMINAL_STATUSES].join(" or ")} run can be restarted (cancel it first to start it over)`);
          if (newRunId !== undefined && db.statement("SELECT 1 FROM _hearth_team_runs WHERE id = ?").get(newRunId) !== undefined) {
            throw stateError(`Team run ${newRunId} exists already: a restart needs a new run id (or none, for a fresh one)`);
          }
          const record = teamRun(agent, from).record();
          const options = { ...(newRunId === undefined ? {} : { runId: newRunId }), ...(record.key === undefined ? {} : { key: record.key }), ...(record.conversation === undefined ? {} : { conversation: record.conversation }) };
          const run = await definedTeam(record.team)
            .start(agent, record.input, options)
            .catch((error: unknown) => {
              throw error instanceof TypeError ? badRequest(error.message) : error;
            });
          return run.id;
        });
        detail.newRunId = id;
        return { result: id };
      });
      return { status: 201, json: { runId, restartedFrom: from } };
    },
  };
}

/** The team-run routes, reading and filling `index`. */
export function teamRunRoutes(index: TeamRunIndex): Route[] {
  return [
    {
      method: "GET",
      path: "/api/team-runs",
      handler: (ctx) => {
        const status = ctx.query.get("status") || undefined;
        if (status !== undefined && !STATUSES.includes(status as TeamRunStatus)) throw badRequest(`status must be one of ${STATUSES.join(", ")}; got ${JSON.stringify(status)}`);
        const className = ctx.query.get("class") || undefined;
        const offset = cursorOffset(ctx.query);
        const page = index.list({ ...(className ? { class: className } : {}), ...(status ? { status } : {}), offset, limit: pageLimit(ctx.query) });
        return { json: { items: page.items, next: page.more ? offsetCursor(offset + page.items.length) : null } };
      },
    },
    {
      method: "GET",
      path: "/api/agents/:class/:name/team-runs",
      handler: async (ctx) => {
        const offset = cursorOffset(ctx.query);
        const limit = pageLimit(ctx.query);
        const page = await inAgentBase(ctx, ({ db }, address) => agentRuns(db, address, offset, limit, index));
        return { json: { items: page.items, next: page.nextOffset === null ? null : offsetCursor(page.nextOffset) } };
      },
    },
    {
      method: "GET",
      path: "/api/team-runs/:class/:name/:runId",
      handler: async (ctx) => ({ json: await inAgentBase(ctx, ({ db, agent }, address) => runDetail(db, agent, address, ctx.params.runId!, index)) }),
    },
    {
      method: "POST",
      path: "/api/team-runs/:class/:name",
      write: true,
      status: 201,
      handler: async (ctx) => {
        const body = await ctx.body();
        if (typeof body.team !== "string" || body.team === "") throw badRequest("The body must be { team: string, input?, runId?: string }");
        const runId = optionalString(body, "runId");
        const team = body.team;
        const target = agentAddress(ctx).label;
        const id = await ctx.audited("team-run.start", target, { team, runId: runId ?? null }, async () => {
          const definition = definedTeam(team);
          const run = await inAgentBase(ctx, ({ agent }) =>
            definition.start(agent, body.input, runId === undefined ? {} : { runId }).catch((error: unknown) => {
              throw error instanceof TypeError ? badRequest(error.message) : error;
            }),
          );
          return { result: run.id };
        });
        return { status: 201, json: { runId: id } };
      },
    },
    control("cancel", ["running", "waiting", "paused"], (run, reason) => run.cancel(reason)),
    control("pause", ["running"], (run, reason) => run.pause(reason)),
    control("resume", ["paused", "waiting"], (run) => run.resume()),
    decision("approve"),
    decision("reject"),
    restartRoute(),
  ];
}

/** A team defined in this process (its module was loaded), with the teams API's `start`. */
function definedTeam(name: string): { start(agent: object, input: unknown, options: { runId?: string; key?: string; conversation?: string }): Promise<{ id: string }> } {
  let definition: unknown;
  try {
    definition = teamNamed(name);
  } catch (error) {
    throw notFound(error instanceof Error ? error.message : String(error));
  }
  const start = (definition as { start?: unknown }).start;
  if (typeof start !== "function") throw notFound(`Team ${name} cannot be started from here`);
  return definition as { start(agent: object, input: unknown, options: { runId?: string; key?: string; conversation?: string }): Promise<{ id: string }> };
}
