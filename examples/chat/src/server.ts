/**
 * The chat example's entry: `npx hearth dev examples/chat/src/server.ts` (after
 * `node examples/chat/build.ts`). The page is at `/` (one conversation per `?chat=<name>`), the
 * agent at `/agents/chat/<name>`.
 */
import { routeAgentRequest } from "hearth";
import { chatModelFromEnv, describeModelChoice } from "hearth/chat";
import { servePage } from "./static.ts";

// Say at start-up which model will answer (the offline demo model when no key is set).
console.log(`  ${describeModelChoice(await chatModelFromEnv())}`);

export { Chat } from "./chat.ts";
export type { ChatState, Env, SentEmail } from "./chat.ts";

export default {
  async fetch(request: Request, env: Record<string, unknown>): Promise<Response> {
    return (await routeAgentRequest(request, env)) ?? (await servePage(request)) ?? new Response("Not found", { status: 404 });
  },
};
