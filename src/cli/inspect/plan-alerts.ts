/**
 * Commands on alerting: rules (add, delete, send a test notification), silences, contact points and
 * the history (docs/inspector/api.md §Alerts). Changes need the admin token.
 */
import { UsageError } from "./args.ts";
import { withQuery, type PlanContext, type Planned, type Planner } from "./plan-context.ts";
import { durationMs, timeMs } from "./times.ts";

/** `silence`: alerts matching every given matcher are not delivered until the silence ends. */
function silence(ctx: PlanContext): Planned {
  const matchers = { rule: ctx.flag("rule"), severity: ctx.flag("severity"), class: ctx.flag("class") };
  const given = Object.fromEntries(Object.entries(matchers).filter(([, value]) => value !== undefined));
  if (Object.keys(given).length === 0) throw new UsageError("silence needs what to silence: --rule <id>, --severity <severity> or --class <class>");
  const forText = ctx.flag("for");
  const untilText = ctx.flag("until");
  if ((forText === undefined) === (untilText === undefined)) throw new UsageError("silence needs how long: --for <duration> (e.g. 2h) or --until <time>, one of them");
  const now = Date.now();
  const until = forText !== undefined ? now + durationMs(forText, "--for") : timeMs(untilText!, "--until", "future", now);
  return { method: "POST", path: "/api/alerts/silences", body: { matchers: given, until, comment: ctx.flag("comment") ?? "" }, write: true };
}

/** `--header "Name: value"` lines as the API's `headers` object. */
function headersOf(text: string | undefined): Record<string, string> | undefined {
  if (text === undefined) return undefined;
  const headers: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) throw new UsageError(`--header takes "Name: value", got ${JSON.stringify(line)}`);
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return headers;
}

function addContactPoint(ctx: PlanContext): Planned {
  const url = ctx.arg(2, "<name> <slack|webhook> <url>");
  const headers = headersOf(ctx.flag("header"));
  const body = { name: ctx.arg(0, "<name>"), kind: ctx.arg(1, "<kind>"), url, ...(headers ? { headers } : {}), ...(ctx.has("replace") ? { replace: true } : {}) };
  return { method: "POST", path: "/api/alerts/contact-points", body, write: true };
}

/** `/api/alerts/<collection>/<first argument><suffix>`. */
function itemPath(ctx: PlanContext, collection: string, what: string, suffix = ""): string {
  return `/api/alerts/${collection}/${encodeURIComponent(ctx.arg(0, what))}${suffix}`;
}

export const alertPlanners: Record<string, Planner> = {
  alerts: () => ({ method: "GET", path: "/api/alerts" }),
  "alert-history": (ctx) => ({ method: "GET", path: withQuery("/api/alerts/history", ctx.params()) }),
  "add-alert-rule": (ctx) => {
    const rule = ctx.json(ctx.arg(0, "<json rule>"), "the rule");
    if (typeof rule !== "object" || rule === null || Array.isArray(rule)) throw new UsageError('add-alert-rule takes one rule as a JSON object, e.g. {"kind":"error","name":"Errors","window":"15m","threshold":5,"severity":"warning"}');
    return { method: "POST", path: "/api/alerts/rules", body: rule, write: true };
  },
  "delete-alert-rule": (ctx) => ({ method: "DELETE", path: itemPath(ctx, "rules", "<rule id>"), write: true }),
  "test-alert-rule": (ctx) => ({ method: "POST", path: itemPath(ctx, "rules", "<rule id>", "/test"), write: true }),
  silence,
  "delete-silence": (ctx) => ({ method: "DELETE", path: itemPath(ctx, "silences", "<silence id>"), write: true }),
  "contact-points": () => ({ method: "GET", path: "/api/alerts/contact-points" }),
  "add-contact-point": addContactPoint,
  "delete-contact-point": (ctx) => ({ method: "DELETE", path: itemPath(ctx, "contact-points", "<name>"), write: true }),
};
