/**
 * Traces, logs, metrics, alerts and the audit log (docs/inspector/api.md). Each section reads its
 * source; without one it answers 404 `not_enabled`.
 */
import { badRequest, notEnabled, notFound, pageLimit } from "../http.ts";
import type { MetricsHistory } from "../metrics-history.ts";
import type { Route, RouteContext } from "../router.ts";
import type { SourceQuery } from "../sources.ts";

/**
 * The query string as a store query: numbers and booleans where the API defines them, text elsewhere
 * (`?q=true` searches for the word, `?class=false` names a class).
 */
function sourceQuery(ctx: RouteContext, numeric: readonly string[] = [], booleans: readonly string[] = []): SourceQuery {
  const query: SourceQuery = {};
  for (const [key, value] of ctx.query) {
    if (value === "") continue;
    if (numeric.includes(key)) {
      const number = Number(value);
      if (!Number.isFinite(number)) throw badRequest(`${key} must be a number, got ${JSON.stringify(value)}`);
      query[key] = number;
    } else if (booleans.includes(key)) {
      if (value !== "true" && value !== "false") throw badRequest(`${key} must be true or false, got ${JSON.stringify(value)}`);
      query[key] = value === "true";
    } else query[key] = value;
  }
  query.limit = pageLimit(ctx.query);
  return query;
}

function alertsOf(ctx: RouteContext) {
  const alerts = ctx.sources.alerts;
  if (!alerts) throw notEnabled("Alerts");
  return alerts;
}

/** The alert source when it manages contact points. */
function contactPointsOf(ctx: RouteContext) {
  const alerts = alertsOf(ctx);
  if (!alerts.listContactPoints || !alerts.addContactPoint || !alerts.removeContactPoint) throw notEnabled("Alert contact points");
  return alerts;
}

function originOf(url: unknown): string | null {
  try {
    return typeof url === "string" ? new URL(url).origin : null;
  } catch {
    return null;
  }
}

export function observabilityRoutes(metrics: MetricsHistory | undefined): Route[] {
  const metricsOrThrow = () => {
    if (!metrics) throw notEnabled("Metrics");
    return metrics;
  };
  return [
    {
      method: "GET",
      path: "/api/traces",
      handler: async (ctx) => {
        if (!ctx.sources.spans) throw notEnabled("Traces");
        return { json: await ctx.sources.spans.list(sourceQuery(ctx, ["minDurationMs", "minCostUsd"], ["error"])) };
      },
    },
    {
      method: "GET",
      path: "/api/traces/:traceId",
      handler: async (ctx) => {
        if (!ctx.sources.spans) throw notEnabled("Traces");
        const trace = await ctx.sources.spans.get(ctx.params.traceId!);
        if (!trace) throw notFound(`No trace ${JSON.stringify(ctx.params.traceId)} is kept (it may have aged out)`);
        return { json: trace };
      },
    },
    {
      method: "GET",
      path: "/api/logs",
      handler: async (ctx) => {
        if (!ctx.sources.logs) throw notEnabled("Logs");
        return { json: await ctx.sources.logs.query(sourceQuery(ctx, ["since"])) };
      },
    },
    {
      method: "GET",
      path: "/api/metrics",
      handler: () => {
        const history = metricsOrThrow();
        return { json: { series: history.current(), history: history.history() } };
      },
    },
    {
      method: "GET",
      path: "/metrics",
      produces: "text/plain",
      handler: (ctx) => {
        if (!ctx.sources.metrics) throw notEnabled("Metrics");
        // A read, not Prometheus's scrape: what covers "since the previous scrape" (the event-loop delay) stays for the next one.
        return { text: ctx.sources.metrics.expose({ scrape: false }), contentType: "text/plain; version=0.0.4; charset=utf-8" };
      },
    },
    { method: "GET", path: "/api/alerts", handler: async (ctx) => ({ json: await alertsOf(ctx).snapshot() }) },
    { method: "GET", path: "/api/alerts/history", handler: async (ctx) => ({ json: await alertsOf(ctx).history(sourceQuery(ctx)) }) },
    {
      method: "POST",
      path: "/api/alerts/rules",
      write: true,
      status: 201,
      handler: async (ctx) => {
        const alerts = alertsOf(ctx);
        const rule = await ctx.body();
        const created = await ctx.audited("alert.rule.add", String(rule.name ?? "rule"), { rule }, async () => ({ result: await alerts.addRule(rule), after: rule }));
        return { status: 201, json: created };
      },
    },
    {
      method: "DELETE",
      path: "/api/alerts/rules/:id",
      write: true,
      handler: async (ctx) => {
        const alerts = alertsOf(ctx);
        const id = ctx.params.id!;
        await ctx.audited("alert.rule.remove", id, {}, async () => {
          if (!(await alerts.removeRule(id))) throw notFound(`No alert rule ${JSON.stringify(id)}`);
          return { result: undefined };
        });
        return { json: { deleted: true } };
      },
    },
    {
      method: "POST",
      path: "/api/alerts/rules/:id/test",
      write: true,
      handler: async (ctx) => {
        const alerts = alertsOf(ctx);
        const id = ctx.params.id!;
        const outcome = await ctx.audited("alert.rule.test", id, {}, async () => ({ result: await alerts.test(id) }));
        return { json: outcome };
      },
    },
    {
      method: "GET",
      path: "/api/alerts/contact-points",
      handler: async (ctx) => ({ json: { contactPoints: await contactPointsOf(ctx).listContactPoints!() } }),
    },
    {
      method: "POST",
      path: "/api/alerts/contact-points",
      write: true,
      status: 201,
      handler: async (ctx) => {
        const alerts = contactPointsOf(ctx);
        const { replace, ...contactPoint } = await ctx.body();
        if (replace !== undefined && typeof replace !== "boolean") throw badRequest("replace must be true or false");
        // Only the name, kind and URL origin are audited: a webhook URL or header may hold a secret.
        const detail = { name: contactPoint.name ?? null, kind: contactPoint.kind ?? null, origin: originOf(contactPoint.url), replace: replace === true };
        const created = await ctx.audited("alert.contact-point.add", String(contactPoint.name ?? "contact point"), detail, async () => ({ result: await alerts.addContactPoint!(contactPoint, replace === true) }));
        return { status: 201, json: created };
      },
    },
    {
      method: "DELETE",
      path: "/api/alerts/contact-points/:name",
      write: true,
      handler: async (ctx) => {
        const alerts = contactPointsOf(ctx);
        const name = ctx.params.name!;
        await ctx.audited("alert.contact-point.remove", name, {}, async () => {
          if (!(await alerts.removeContactPoint!(name))) throw notFound(`No contact point ${JSON.stringify(name)}`);
          return { result: undefined };
        });
        return { json: { deleted: true } };
      },
    },
    {
      method: "POST",
      path: "/api/alerts/silences",
      write: true,
      status: 201,
      handler: async (ctx) => {
        const alerts = alertsOf(ctx);
        const silence = await ctx.body();
        const created = await ctx.audited("alert.silence.add", "silence", { silence }, async () => ({ result: await alerts.addSilence(silence), after: silence }));
        return { status: 201, json: created };
      },
    },
    {
      method: "DELETE",
      path: "/api/alerts/silences/:id",
      write: true,
      handler: async (ctx) => {
        const alerts = alertsOf(ctx);
        const id = ctx.params.id!;
        await ctx.audited("alert.silence.remove", id, {}, async () => {
          if (!(await alerts.removeSilence(id))) throw notFound(`No silence ${JSON.stringify(id)}`);
          return { result: undefined };
        });
        return { json: { deleted: true } };
      },
    },
    {
      method: "GET",
      path: "/api/audit",
      handler: (ctx) => {
        const cursor = ctx.query.get("cursor");
        const decoded = cursor ? Buffer.from(cursor, "base64url").toString("utf8") : undefined;
        if (decoded !== undefined && !/^\d{1,15}$/.test(decoded)) throw badRequest("cursor is not a cursor this API gave out");
        const before = decoded === undefined ? undefined : Number(decoded);
        const page = ctx.audit.page(before, pageLimit(ctx.query));
        return { json: { items: page.items, next: page.next === null ? null : Buffer.from(String(page.next)).toString("base64url") } };
      },
    },
  ];
}
