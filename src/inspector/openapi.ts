/**
 * `GET /api/openapi.json`: an OpenAPI 3.1 document of the inspector's API, built from its route table
 * (so it never lists a route that does not exist) with a one-line summary per route.
 */
import type { Route } from "./router.ts";

const SUMMARIES: Record<string, string> = {
  "POST /api/session": "Exchange a token for a session cookie",
  "GET /api/session": "The caller's role and the host",
  "DELETE /api/session": "Sign out (clear the cookie)",
  "GET /api/overview": "Live agents, requests, schedules, workflows, tokens, runtime and problems",
  "GET /api/classes": "Agent and Durable Object classes with live counts",
  "GET /api/agents": "Agent instances by class (q: name prefix or substring)",
  "GET /api/agents/{class}/{name}": "One agent: live, sockets, size, next alarm, features",
  "GET /api/agents/{class}/{name}/state": "The agent's state",
  "PUT /api/agents/{class}/{name}/state": "Set the state (validateStateChange, broadcast)",
  "GET /api/agents/{class}/{name}/sql/schema": "Tables, views, columns and indexes",
  "GET /api/agents/{class}/{name}/sql/tables/{table}": "One page of a table's rows",
  "POST /api/agents/{class}/{name}/sql/query": "Run SQL: read-only, or a write (admin, write: true)",
  "GET /api/agents/{class}/{name}/connections": "Open WebSocket connections",
  "POST /api/agents/{class}/{name}/connections/{id}/send": "Send a message to a connection",
  "POST /api/agents/{class}/{name}/connections/{id}/close": "Close a connection",
  "GET /api/agents/{class}/{name}/methods": "@callable methods",
  "POST /api/agents/{class}/{name}/methods/{method}": "Invoke a callable method with JSON arguments",
  "GET /api/agents/{class}/{name}/schedules": "Schedules with their next runs",
  "POST /api/agents/{class}/{name}/schedules/{id}/run": "Run a schedule now",
  "DELETE /api/agents/{class}/{name}/schedules/{id}": "Cancel a schedule",
  "GET /api/agents/{class}/{name}/queue": "Queued tasks",
  "POST /api/agents/{class}/{name}/queue/{id}/run": "Run a queued task now (first in line, due now, breaker cleared)",
  "DELETE /api/agents/{class}/{name}/queue/{id}": "Remove a queued task",
  "GET /api/agents/{class}/{name}/chat": "Chat transcript",
  "GET /api/agents/{class}/{name}/mcp": "MCP servers the agent is connected to",
  "GET /api/agents/{class}/{name}/children": "Sub-agents and facets",
  "GET /api/agents/{class}/{name}/team-runs": "Team runs this agent owns",
  "GET /api/team-runs": "Team runs of every agent",
  "GET /api/team-runs/{class}/{name}/{runId}": "One team run with its steps (inputs and outputs)",
  "POST /api/team-runs/{class}/{name}": "Start a team run ({ team, input, runId? })",
  "POST /api/team-runs/{class}/{name}/{runId}/cancel": "Cancel a run ({ reason? })",
  "POST /api/team-runs/{class}/{name}/{runId}/pause": "Pause a run",
  "POST /api/team-runs/{class}/{name}/{runId}/resume": "Resume a paused run",
  "POST /api/team-runs/{class}/{name}/{runId}/approve": "Approve a waiting approval ({ path, value? }): a team run's event",
  "POST /api/team-runs/{class}/{name}/{runId}/reject": "Reject a waiting approval ({ path, reason? })",
  "POST /api/team-runs/{class}/{name}/{runId}/restart": "Start a new run with the same team and input as an ended one",
  "GET /api/workflows": "Workflow instances (workflow, status, q filters)",
  "GET /api/workflows/{workflow}/{id}": "One workflow instance with its steps",
  "POST /api/workflows/{workflow}": "Start an instance",
  "POST /api/workflows/{workflow}/{id}/event": "Send an event to an instance",
  "POST /api/workflows/{workflow}/{id}/pause": "Pause an instance",
  "POST /api/workflows/{workflow}/{id}/resume": "Resume a paused instance",
  "POST /api/workflows/{workflow}/{id}/terminate": "Terminate an instance",
  "POST /api/workflows/{workflow}/{id}/restart": "Restart an instance from its first step",
  "GET /api/traces": "Traces (class, agent, conversation, model, error, duration, cost filters)",
  "GET /api/traces/{traceId}": "One trace with its spans",
  "GET /api/logs": "Log entries (level, class, agent, traceId, q, since)",
  "GET /api/metrics": "Metric series and an hour of history",
  "GET /metrics": "Prometheus text exposition",
  "GET /api/stream": "Live stream (Server-Sent Events) of events, logs, spans and metrics",
  "GET /api/alerts": "Alert rules with their state, and silences",
  "GET /api/alerts/history": "Alert state changes",
  "POST /api/alerts/rules": "Add an alert rule",
  "DELETE /api/alerts/rules/{id}": "Remove an alert rule",
  "POST /api/alerts/rules/{id}/test": "Send a test notification",
  "POST /api/alerts/silences": "Add a silence",
  "DELETE /api/alerts/silences/{id}": "Remove a silence",
  "GET /api/alerts/contact-points": "Where alerts are delivered (webhooks, Slack)",
  "POST /api/alerts/contact-points": "Add or replace a contact point",
  "DELETE /api/alerts/contact-points/{name}": "Remove a contact point",
  "GET /api/audit": "The audit log of changes",
  "GET /api/openapi.json": "This document",
};

const PRODUCED: Record<NonNullable<Route["produces"]>, string> = {
  "text/plain": "Text",
  "text/event-stream": "Server-Sent Events",
};

function success(route: Route): Record<string, unknown> {
  const type = route.produces ?? "application/json";
  return { description: route.produces ? PRODUCED[route.produces] : "JSON", content: { [type]: {} } };
}

/** The OpenAPI document of `routes`. */
export function openApiDocument(routes: readonly Route[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:(\w+)/g, "{$1}");
    const parameters = [...route.path.matchAll(/:(\w+)/g)].map((match) => ({ name: match[1], in: "path", required: true, schema: { type: "string" } }));
    const key = `${route.method} ${path}`;
    (paths[path] ??= {})[route.method.toLowerCase()] = {
      summary: SUMMARIES[key] ?? key,
      ...(route.write ? { description: "Admin only; audited. A cross-origin Origin is refused." } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.open ? { security: [] } : {}),
      responses: { [String(route.status ?? 200)]: success(route), default: { description: "{ error: { code, message } }" } },
    };
  }
  return {
    openapi: "3.1.0",
    info: { title: "Hearth inspector API", version, description: "See docs/inspector/api.md" },
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" }, cookie: { type: "apiKey", in: "cookie", name: "hearth_inspector_<port>", description: "Named after the inspector's port, e.g. hearth_inspector_8788" } } },
    security: [{ bearer: [] }, { cookie: [] }],
    paths,
  };
}
