import { camelCaseToKebabCase } from "../protocol/kebab.ts";
import { isAgentNamespace, type AgentNamespace } from "../host/namespace.ts";
import { AgentNameError } from "../host/names.ts";
import { openBridge, type AgentEmailPayload } from "./bridge.ts";
import { EmailError } from "./errors.ts";
import type { EmailRoutingOptions, ForwardableEmailMessage } from "./types.ts";

/** The agent side of a routed email (Agent._onEmail). */
interface EmailReceiver {
  _onEmail(payload: AgentEmailPayload): Promise<void>;
}

/**
 * Routes an inbound message to an agent: the resolver names the class and instance, and that
 * agent's `onEmail(email)` runs (in its mailbox, its writes in one transaction). Resolves once
 * onEmail has finished; throws what it threw. With no route, `onNoRoute` runs — or a warning is
 * logged and the message is dropped (accepted). A class that is not bound throws an `EmailError`
 * ("unknown_agent"), which the SMTP listener answers with 550.
 * @example
 * export default {
 *   async email(message, env) {
 *     await routeAgentEmail(message, env, {
 *       resolver: createAddressBasedEmailResolver("EmailAgent"),
 *       onNoRoute: (email) => email.setReject("Unknown recipient"),
 *     });
 *   },
 * };
 */
export async function routeAgentEmail<Env = Record<string, unknown>>(
  email: ForwardableEmailMessage,
  env: Env,
  options: EmailRoutingOptions<Env>,
): Promise<void> {
  if (typeof options?.resolver !== "function") throw new TypeError("routeAgentEmail: options.resolver must be a function");
  const route = await options.resolver(email, env);
  if (!route) {
    if (options.onNoRoute) await options.onNoRoute(email);
    else console.warn(`[hearth] no route for the email from ${email.from} to ${email.to}; it is dropped (pass onNoRoute to reject it)`);
    return;
  }
  const namespace = findNamespace(env as Record<string, unknown>, route.agentName);
  let agent: EmailReceiver;
  try {
    agent = namespace.getByName(route.agentId) as unknown as EmailReceiver;
  } catch (error) {
    if (error instanceof AgentNameError) throw new EmailError("unknown_agent", `No agent for ${email.to}: ${error.message}`, { cause: error });
    throw error;
  }
  const bridge = openBridge(email);
  try {
    await agent._onEmail({
      bridge: bridge.id,
      from: email.from,
      to: email.to,
      headers: [...email.headers],
      rawSize: email.rawSize,
      secureRouted: route._secureRouted === true,
    });
  } finally {
    bridge.close();
  }
}

/** The binding named `agentName`: its binding name, kebab-case (`email-agent`) or lower-case (`emailagent`). */
function findNamespace(env: Record<string, unknown>, agentName: string): AgentNamespace {
  const wanted = agentName.toLowerCase();
  const available: string[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (!isAgentNamespace(value)) continue;
    if (key === agentName) return value;
    available.push(key);
  }
  for (const key of available) {
    if (key.toLowerCase() === wanted || camelCaseToKebabCase(key) === wanted) return env[key] as AgentNamespace;
  }
  throw new EmailError(
    "unknown_agent",
    `No agent class "${agentName}" in env to receive this email. Available agents: ${available.join(", ") || "none"}`,
  );
}
