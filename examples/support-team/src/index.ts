/**
 * The support team's worker: `npx hearth dev` in this folder (see README.md).
 *
 * - `/` — the page: ask a question, watch the run's events live, approve a refund, read the answer.
 * - `POST /agents/desk/<user>/ask` `{ "question": "…" }` — starts a run (202 `{ runId }`; 429 over the limit).
 * - `/agents/desk/<user>` — the user's Desk over WebSocket: `runs()`, `run(id)`, `approve(id, path)`,
 *   `reject(id, path)`, `tickets()`, and `hearth_team_watch` frames for a run's events.
 * - `GET /api/memory?user=<user>` — the conversation memory in KV, with its expiration.
 * - `GET /api/executions?user=<user>` — the execution log in D1, newest first.
 */
import { routeAgentRequest, type BeforeHook } from "hearth";
import type { Env } from "./env.ts";
import { listExecutions } from "./execution-log.ts";
import { LIMITS } from "./limits.ts";
import { conversations, MEMORY_TTL_SECONDS } from "./memory.ts";

export { Desk } from "./desk.ts";
export { SupportSpecialist } from "./specialists/support.ts";
export { AnalyticsSpecialist } from "./specialists/analytics.ts";
export { WriterSpecialist } from "./specialists/writer.ts";
export type { RunSummary } from "./desk.ts";
export type { Execution } from "./execution-log.ts";

/** Only desks are reached from outside, and only under a valid user name; specialists are reached through their desk. */
const desksOnly: BeforeHook = (_request, lobby) => {
  if (lobby.className !== "Desk") return Response.json({ error: "Not found" }, { status: 404 });
  if (!LIMITS.userName.test(lobby.name)) {
    return Response.json({ error: "User names are 1-32 of a-z, 0-9 and -, starting with a letter or digit" }, { status: 400 });
  }
};

function userParam(url: URL): string | Response {
  const user = url.searchParams.get("user") ?? "";
  if (!LIMITS.userName.test(user)) return Response.json({ error: "User names are 1-32 of a-z, 0-9 and -, starting with a letter or digit" }, { status: 400 });
  return user;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname === "/api/memory") {
      const user = userParam(url);
      if (user instanceof Response) return user;
      const key = `team:conversations:${user}`;
      const { keys } = await env.MEMORY.list({ prefix: key });
      return Response.json({ key, ttlSeconds: MEMORY_TTL_SECONDS, expiration: keys.find((k) => k.name === key)?.expiration ?? null, exchanges: (await conversations.get(user)) ?? [] });
    }
    if (url.pathname === "/api/executions") {
      const user = userParam(url);
      if (user instanceof Response) return user;
      return Response.json(await listExecutions(env.DB, user, LIMITS.maxLoggedRows));
    }
    return (await routeAgentRequest(request, env, { onBeforeConnect: desksOnly, onBeforeRequest: desksOnly })) ?? Response.json({ error: "Not found" }, { status: 404 });
  },
};
