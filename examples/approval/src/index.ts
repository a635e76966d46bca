import { routeAgentRequest } from "hearth";
import { PAGE } from "./page.ts";

export { Desk } from "./desk.ts";
export { Outreach } from "./outreach.ts";
export type { OutreachItem, Phase } from "./desk.ts";
export type { Draft, OutreachSummary, Progress } from "./outreach.ts";

/** Serves the desk page at `/` and everything under `/agents/...` to the agents. */
export default {
  async fetch(request: Request, env: Record<string, unknown>): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === "/" && request.method === "GET") {
      return new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
    }
    return (await routeAgentRequest(request, env)) ?? new Response("Not found", { status: 404 });
  },
};
