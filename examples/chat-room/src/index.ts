import { routeAgentRequest } from "hearth";
import { PAGE } from "./page.ts";

export { ChatRoom } from "./chat-room.ts";

type Env = Record<string, unknown>;

/** Serves the chat page at `/` and everything under `/agents/...` to the agents. */
export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === "/" && request.method === "GET") {
      return new Response(PAGE, { headers: { "content-type": "text/html; charset=utf-8" } });
    }
    return (await routeAgentRequest(request, env)) ?? new Response("Not found", { status: 404 });
  },
};
