/**
 * Every `hearth inspect` command by name, and the checks every command gets: an option it does not
 * take or an argument too many is a usage error, never silently dropped.
 */
import { closest } from "../args.ts";
import { GLOBAL_FLAGS, UsageError, type Parsed } from "./args.ts";
import { agentTaskPlanners } from "./plan-agent-tasks.ts";
import { agentPlanners } from "./plan-agents.ts";
import { alertPlanners } from "./plan-alerts.ts";
import { PlanContext, type Planned, type Planner } from "./plan-context.ts";
import { observabilityPlanners } from "./plan-observability.ts";
import { runPlanners } from "./plan-runs.ts";

const PLANNERS: Readonly<Record<string, Planner>> = { ...agentPlanners, ...agentTaskPlanners, ...runPlanners, ...observabilityPlanners, ...alertPlanners };

/** The command names, for the help's sake and tests. */
export const INSPECT_COMMANDS: readonly string[] = Object.keys(PLANNERS);

/** The request (or stream) the command line asks for. */
export function planCommand(parsed: Parsed): Planned {
  const ctx = new PlanContext(parsed);
  const planner = Object.hasOwn(PLANNERS, ctx.verb) ? PLANNERS[ctx.verb] : undefined;
  if (!planner) {
    const meant = closest(ctx.verb, INSPECT_COMMANDS);
    throw new UsageError(`Unknown command ${JSON.stringify(ctx.verb)}${meant ? ` (did you mean ${meant}?)` : ""}`);
  }
  const planned = planner(ctx);
  for (const name of parsed.flags.keys()) {
    if (!GLOBAL_FLAGS.has(name) && !ctx.used.has(name)) throw new UsageError(`--${name} does not apply to ${ctx.verb}`);
  }
  if (ctx.args.length > ctx.argsRead) throw new UsageError(`Unexpected argument ${JSON.stringify(ctx.args[ctx.argsRead])} for ${ctx.verb}`);
  if (parsed.flags.has("pretty") && (planned.follow || planned.text)) {
    throw new UsageError(planned.follow ? "--pretty prints tables; a followed stream prints one JSON line per message" : "--pretty formats JSON; this prints the text exposition as it is");
  }
  return planned;
}
