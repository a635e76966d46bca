/**
 * Commands on workflow instances and team runs: list, detail, start, send an event, pause, resume,
 * stop and restart (docs/inspector/api.md §Workflows and team runs). Changes need the admin token.
 */
import { withQuery, type PlanContext, type Planner } from "./plan-context.ts";

/** pause-workflow, resume-workflow, terminate-workflow, restart-workflow: the API's action of the same name. */
function workflowAction(action: string): Planner {
  return (ctx) => ({ method: "POST", path: ctx.workflowPath(`/${action}`), write: true });
}

/** restart-team-run, pause-team-run, resume-team-run. */
function teamRunAction(action: string): Planner {
  return (ctx) => ({ method: "POST", path: ctx.teamRunPath(`/${action}`), body: {}, write: true });
}

function teamRuns(ctx: PlanContext): ReturnType<Planner> {
  if (ctx.optional(0) === undefined) return { method: "GET", path: withQuery("/api/team-runs", ctx.params(["class", "status"])) };
  ctx.refuse(["class", "status"], "filters every agent's runs; one agent's (<Class>/<name>) are listed whole");
  return { method: "GET", path: ctx.agentPath("/team-runs", ctx.params()) };
}

export const runPlanners: Record<string, Planner> = {
  workflows: (ctx) => ({ method: "GET", path: withQuery("/api/workflows", ctx.params(["workflow", "status", "q"])) }),
  workflow: (ctx) => ({ method: "GET", path: ctx.workflowPath() }),
  "start-workflow": (ctx) => {
    const workflow = ctx.arg(0, "<workflow> [json params]");
    const id = ctx.flag("id");
    const params = ctx.json(ctx.optional(1), "the params");
    return { method: "POST", path: `/api/workflows/${encodeURIComponent(workflow)}`, body: { ...(id === undefined ? {} : { id }), ...(params === undefined ? {} : { params }) }, write: true };
  },
  "send-workflow-event": (ctx) => {
    const type = ctx.arg(1, "<workflow>/<id> <event type> [json payload]");
    const payload = ctx.json(ctx.optional(2), "the payload");
    return { method: "POST", path: ctx.workflowPath("/event"), body: { type, ...(payload === undefined ? {} : { payload }) }, write: true };
  },
  "pause-workflow": workflowAction("pause"),
  "resume-workflow": workflowAction("resume"),
  "terminate-workflow": workflowAction("terminate"),
  "restart-workflow": workflowAction("restart"),

  "team-runs": teamRuns,
  "team-run": (ctx) => ({ method: "GET", path: ctx.teamRunPath() }),
  "start-team-run": (ctx) => {
    const team = ctx.arg(1, "<Class>/<name> <team> [json input]");
    const input = ctx.json(ctx.optional(2), "the input");
    return { method: "POST", path: ctx.agentPath().replace("/api/agents/", "/api/team-runs/"), body: { team, input }, write: true };
  },
  "restart-team-run": teamRunAction("restart"),
  "pause-team-run": teamRunAction("pause"),
  "resume-team-run": teamRunAction("resume"),
  "cancel-team-run": (ctx) => {
    const reason = ctx.optional(1);
    return { method: "POST", path: ctx.teamRunPath("/cancel"), body: reason === undefined ? {} : { reason }, write: true };
  },
  "approve-team-run": (ctx) => {
    const path = ctx.arg(1, "<Class>/<name>/<runId> <path> [json value]");
    return { method: "POST", path: ctx.teamRunPath("/approve"), body: { path, value: ctx.json(ctx.optional(2), "the value") }, write: true };
  },
  "reject-team-run": (ctx) => {
    const path = ctx.arg(1, "<Class>/<name>/<runId> <path> [reason]");
    const reason = ctx.optional(2);
    return { method: "POST", path: ctx.teamRunPath("/reject"), body: { path, ...(reason === undefined ? {} : { reason }) }, write: true };
  },
};
