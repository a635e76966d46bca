import * as nodeModule from "node:module";
import { initialize, resolve, type HookData } from "./module-hooks.ts";

// Resolved next to this file, so the mapped modules are the very ones the host itself loaded
// (`instanceof Agent` holds): .ts files when running from source, .js from dist/.
const extension = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
const sibling = (path: string): string => new URL(path + extension, import.meta.url).href;

/**
 * The modules a Cloudflare project imports, and the Hearth module each resolves to while Hearth runs
 * it. A project's own `agents` dependency is not used on the server.
 */
export const MAPPED_MODULES: Readonly<Record<string, { url: string; what: string }>> = {
  agents: { url: sibling("./agents"), what: "hearth (Agent, routeAgentRequest, getAgentByName, callable, …)" },
  "agents/client": { url: sibling("../client/index"), what: "hearth/client" },
  "agents/react": { url: sibling("../react/index"), what: "hearth/react" },
  "agents/ai-react": { url: sibling("../react/index"), what: "hearth/react (useAgentChat)" },
  "agents/chat/react": { url: sibling("../react/index"), what: "hearth/react (useAgentChat)" },
  "agents/ai-chat-agent": { url: sibling("../chat/index"), what: "hearth/chat (AIChatAgent)" },
  "agents/chat": { url: sibling("../chat/index"), what: "hearth/chat" },
  "agents/agent-tools": { url: sibling("../chat/index"), what: "hearth/chat (agentTool)" },
  "@cloudflare/ai-chat": { url: sibling("../chat/index"), what: "hearth/chat (AIChatAgent)" },
  "@cloudflare/ai-chat/react": { url: sibling("../react/index"), what: "hearth/react (useAgentChat)" },
  "agents/mcp": { url: sibling("../mcp/index"), what: "hearth/mcp" },
  "agents/mcp/server": { url: sibling("./agents-mcp-server"), what: "hearth/mcp (createMcpHandler, getMcpAuthContext)" },
  "agents/workflows": { url: sibling("../workflow/index"), what: "hearth/workflows (AgentWorkflow)" },
  "agents/email": { url: sibling("../email/index"), what: "hearth/email" },
  "agents/observability": { url: sibling("../events/index"), what: "hearth/observability (agents:* events, subscribe)" },
  "agents/codemode/ai": { url: sibling("../codemode/index"), what: "hearth/codemode" },
  "cloudflare:workers": { url: sibling("./cloudflare-workers"), what: "env, waitUntil, WorkerEntrypoint, WorkflowEntrypoint, RpcTarget" },
  "cloudflare:workflows": { url: sibling("./cloudflare-workflows"), what: "NonRetryableError" },
  "cloudflare:email": { url: sibling("./cloudflare-email"), what: "EmailMessage (sent through HEARTH_SMTP_URL)" },
};

/** Module names that belong to Cloudflare or the Agents SDK: an unmapped one fails with a clear error. */
export const OWNED_PREFIXES = ["agents/", "cloudflare:", "@cloudflare/ai-chat/"] as const;

let registered = false;

/**
 * Makes `import "agents"`, `agents/*`, `cloudflare:workers` … resolve to Hearth for every module
 * loaded from now on in this process (Node's module customization hooks). Idempotent.
 */
export function registerModuleMap(): void {
  if (registered) return;
  registered = true;
  const map = Object.fromEntries(Object.entries(MAPPED_MODULES).map(([name, { url }]) => [name, url]));
  const data: HookData = { map, prefixes: [...OWNED_PREFIXES] };
  // In-thread hooks also see `require`, which tsx uses for a project that is not "type": "module".
  const { registerHooks } = nodeModule as { registerHooks?: (hooks: object) => unknown };
  if (typeof registerHooks === "function") {
    initialize(data);
    registerHooks({ resolve });
  } else {
    nodeModule.register(sibling("./module-hooks"), { data });
  }
}
