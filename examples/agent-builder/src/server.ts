/**
 * The agent-builder example's entry: `npx hearth dev examples/agent-builder/src/server.ts`.
 *
 * - `/` — the customer's page: create or open a customer, write the instructions, add tools as
 *   JavaScript, chat.
 * - `/operator` — the operator's page: customers, the size of each one's database, suspend, resume,
 *   delete.
 * - `POST /api/customers` `{ "name": "acme" }` — creates a customer (the customer's page calls it).
 * - `/agents/builder/main` — the operator's `Builder`; `/agents/builder/main/sub/customer-agent/<name>`
 *   — one customer's agent, through the Builder's `onBeforeSubAgent`.
 *
 * No sign-in: anyone who reaches the server is operator and every customer. Put your own
 * authentication in front of `/operator`, `/agents/builder/main` (the operator's socket) and each
 * customer's address before this leaves your machine.
 */
import { getAgentByName, routeAgentRequest, type AgentNamespace, type BeforeHook } from "hearth";
import { chatModelFromEnv, describeModelChoice } from "hearth/chat";
import type { Builder } from "./builder.ts";
import { servePublic } from "./static.ts";

export { Builder } from "./builder.ts";
export { CustomerAgent } from "./customer-agent.ts";
export type { BuilderState, CustomerReport, CustomerSummary } from "./builder.ts";
export type { CustomerState, Env } from "./customer-agent.ts";
export type { CustomerTool } from "./customer-tools.ts";

/** The one Builder instance the pages use (a product with several operators would have one each). */
export const WORKSPACE = "main";

// Say at start-up which model will answer (the offline demo model when no key is set).
console.log(`  ${describeModelChoice(await chatModelFromEnv())}`);

async function createCustomer(request: Request, env: Record<string, unknown>): Promise<Response> {
  let name: unknown;
  try {
    ({ name } = (await request.json()) as { name?: unknown });
  } catch {
    return Response.json({ error: 'Send JSON: { "name": "acme" }' }, { status: 400 });
  }
  const builder = await getAgentByName(env.Builder as AgentNamespace<Builder>, WORKSPACE);
  try {
    return Response.json(await builder.createCustomer(name as string));
  } catch (error) {
    return Response.json({ error: (error as Error).message }, { status: 400 });
  }
}

/**
 * Every exported agent class is also served at its own top-level address; a customer's agent must
 * only be reached through the Builder, whose `onBeforeSubAgent` checks it exists and is not suspended.
 */
const onlyThroughBuilder: BeforeHook = (_request, lobby) => {
  if (lobby.className !== "CustomerAgent") return;
  const path = `/agents/builder/${WORKSPACE}/sub/customer-agent/${encodeURIComponent(lobby.name)}`;
  return Response.json({ error: `A customer's agent is reached through its builder: ${path}` }, { status: 404 });
};

export default {
  async fetch(request: Request, env: Record<string, unknown>): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === "/api/customers" && request.method === "POST") return createCustomer(request, env);
    const routed = await routeAgentRequest(request, env, { onBeforeConnect: onlyThroughBuilder, onBeforeRequest: onlyThroughBuilder });
    return routed ?? (await servePublic(request)) ?? new Response("Not found", { status: 404 });
  },
};
