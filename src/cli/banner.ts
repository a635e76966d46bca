import { styleText } from "node:util";
import { camelCaseToKebabCase } from "../protocol/kebab.ts";
import type { Command } from "./args.ts";

/** What the startup banner shows. */
export interface BannerInfo {
  command: Command;
  /** The entry as shown to the user. */
  entry: string;
  /** Binding names of the served agent classes. */
  agents: string[];
  /** Binding names of the plain Durable Object classes (reached through the worker's fetch). */
  durableObjects?: string[];
  /** Binding names of the workflow classes. */
  workflows?: string[];
  /** Whether the entry's default export handles requests itself. */
  hasFetch: boolean;
  /** The MCP endpoint, when the default export is one. */
  mcp?: { path: string; transport: string };
  /** The address actually listened on, e.g. `http://127.0.0.1:8787`. */
  url: string;
  dataDir: string;
  durability: string;
  /** Mail: the SMTP listener's address, the webhook's URL, the outbound server (each when on). */
  email?: { smtp?: string; webhook?: string; outbound?: string };
  /** Agents with scheduled or queued work, and when the first is due (epoch ms). */
  pendingTasks?: { agents: number; nextAt: number | null };
  /** Where Prometheus metrics are served, when they are. */
  metrics?: string;
  /** The inspector's URL (with its viewer token), where the admin token is kept, and a warning when it is exposed. */
  inspector?: { url: string; adminTokenFile?: string; warning?: string };
  /** The wrangler config served, its environment, and `CLOUDFLARE_ENV` when that variable chose it. */
  project?: { config: string; env?: string; envFrom?: string };
  /** Platform bindings, one line per kind (`KV CACHE, SESSIONS`). */
  bindings?: string[];
  /** Migration tags applied at this start. */
  migrations?: string[];
  /** The static assets directory. */
  assets?: string;
  /** Cron triggers armed. */
  crons?: string[];
  /** Threads the agents are spread over (shown when more than one), and what they do not cover yet. */
  threads?: { count: number; note?: string };
  /** This node's place in a cluster (`--cluster`). */
  cluster?: { nodeId: string; advertise: string; database: string };
}

/**
 * The URL path segment for an agent binding (`Counter` → `counter`, `ChatRoom` → `chat-room`):
 * requests reach it at `/agents/<segment>/<name>`.
 */
export function agentSegment(binding: string): string {
  return camelCaseToKebabCase(binding);
}

const label = (text: string): string => styleText("dim", text.padEnd(8));

/** Wildcard addresses a server listens on, and the loopback address a browser on this machine reaches it at. */
const WILDCARDS: Readonly<Record<string, string>> = { "0.0.0.0": "127.0.0.1", "[::]": "[::1]" };

/**
 * A URL someone can open: a server on every address (`--host 0.0.0.0` or `::`) is shown at loopback,
 * since `http://0.0.0.0:8787` is not an address to connect to (browsers on some systems refuse it).
 *
 * @example
 * reachableUrl("http://0.0.0.0:8787/metrics"); // "http://127.0.0.1:8787/metrics"
 */
export function reachableUrl(url: string): string {
  const match = /^([a-z]+:\/\/)(0\.0\.0\.0|\[::\])(?=[:/]|$)/.exec(url);
  return match === null ? url : `${match[1]}${WILDCARDS[match[2] ?? ""] ?? match[2]}${url.slice(match[0].length)}`;
}

/** The multi-line banner printed once the server listens. */
export function formatBanner(shown: BannerInfo): string {
  const listensEverywhere = reachableUrl(shown.url) !== shown.url;
  const info = reachableBanner(shown);
  const lines = [`${styleText("bold", `hearth ${info.command}`)} · ${info.entry}`];
  if (info.project) {
    const from = info.project.envFrom !== undefined ? `, from ${info.project.envFrom}` : "";
    lines.push(`  ${label("config")} ${info.project.config}${info.project.env !== undefined ? `  (env: ${styleText("bold", info.project.env)}${from})` : ""}`);
  }
  const width = Math.max(0, ...info.agents.map((name) => name.length));
  info.agents.forEach((name, index) => {
    const url = `${info.url}/agents/${agentSegment(name)}/:name`;
    lines.push(`  ${index === 0 ? label("agents") : " ".repeat(8)} ${name.padEnd(width)}  → ${styleText("cyan", url)}`);
  });
  if (info.agents.length === 0) lines.push(`  ${label("agents")} (none)`);
  if (info.durableObjects && info.durableObjects.length > 0) {
    lines.push(`  ${label("objects")} ${info.durableObjects.join(", ")}  (Durable Objects: env.<name>.getByName() in the worker's fetch)`);
  }
  // One line per binding, with the call that starts an instance of it.
  (info.workflows ?? []).forEach((name, index) => {
    lines.push(`  ${index === 0 ? label("workflow") : " ".repeat(8)} ${name}  (env.${name}.create())`);
  });
  if (info.mcp) {
    const kind = info.mcp.transport === "sse" ? "legacy SSE" : info.mcp.transport === "auto" ? "Streamable HTTP + legacy SSE" : "Streamable HTTP";
    lines.push(`  ${label("mcp")} ${styleText("cyan", info.url + info.mcp.path)}  (${kind}; one agent per session)`);
  } else if (info.hasFetch) lines.push(`  ${label("fetch")} default export handles every request`);
  if (info.inspector) {
    const admin = info.inspector.adminTokenFile ? `; admin token in ${info.inspector.adminTokenFile}` : "";
    lines.push(`  ${label("inspect")} ${styleText("cyan", info.inspector.url)}  (read-only${admin})`);
    if (info.inspector.warning) lines.push(`  ${styleText(["bold", "red"], info.inspector.warning)}`);
  }
  if (info.metrics) lines.push(`  ${label("metrics")} ${styleText("cyan", info.metrics)}  (Prometheus; --no-metrics turns it off)`);
  if (info.email?.smtp) lines.push(`  ${label("smtp")} ${styleText("cyan", info.email.smtp)}  (mail → the default export's email())`);
  if (info.email?.webhook) lines.push(`  ${label("webhook")} POST ${styleText("cyan", info.email.webhook)}  (raw mail; Authorization: Bearer …)`);
  if (info.email?.outbound) lines.push(`  ${label("mail out")} ${info.email.outbound}  (replies, forwards, this.sendEmail(); env.EMAIL without a wrangler config)`);
  (info.bindings ?? []).forEach((line, index) => lines.push(`  ${index === 0 ? label("bindings") : " ".repeat(8)} ${line}`));
  if (info.assets) lines.push(`  ${label("assets")} ${info.assets}`);
  if (info.crons && info.crons.length > 0) {
    const hint = info.command === "dev" ? `  (fire one: ${info.url}/cdn-cgi/handler/scheduled?cron=…)` : "";
    lines.push(`  ${label("crons")} ${info.crons.join(", ")}${hint}`);
  }
  if (info.migrations && info.migrations.length > 0) lines.push(`  ${label("migrate")} applied ${info.migrations.join(", ")}`);
  lines.push(`  ${label("data")} ${info.dataDir}  (durability: ${info.durability})`);
  if (info.threads && info.threads.count > 1) {
    lines.push(`  ${label("threads")} ${info.threads.count}  (agents spread by name; each thread has its own event loop)${info.threads.note ? ` · ${info.threads.note}` : ""}`);
  }
  if (info.cluster) {
    lines.push(`  ${label("cluster")} node ${styleText("bold", info.cluster.nodeId)} at ${info.cluster.advertise}  (Postgres: ${info.cluster.database})`);
  }
  const pending = info.pendingTasks;
  if (pending && pending.agents > 0) {
    const next = pending.nextAt === null ? "" : `, next due ${new Date(pending.nextAt).toISOString()}`;
    lines.push(`  ${label("tasks")} ${pending.agents} agent${pending.agents === 1 ? "" : "s"} with scheduled work${next}`);
  }
  const everywhere = listensEverywhere ? `  (listening on every address: ${new URL(shown.url).hostname})` : "";
  lines.push(`  ${label("ready")} ${styleText("green", info.url)}${everywhere}`);
  return lines.join("\n");
}

/** The banner's URLs as someone on this machine opens them. */
function reachableBanner(info: BannerInfo): BannerInfo {
  const email = info.email && { ...info.email, ...(info.email.webhook !== undefined ? { webhook: reachableUrl(info.email.webhook) } : {}) };
  return {
    ...info,
    url: reachableUrl(info.url),
    ...(info.metrics !== undefined ? { metrics: reachableUrl(info.metrics) } : {}),
    ...(info.inspector ? { inspector: { ...info.inspector, url: reachableUrl(info.inspector.url) } } : {}),
    ...(email ? { email } : {}),
  };
}

/** The one line printed when `dev` has restarted the server. */
export function formatReload(reason: string, url: string, agents: readonly string[]): string {
  const served = agents.length > 0 ? ` · ${agents.join(", ")}` : "";
  return `  ${label("reload")} ${reason} → ${styleText("green", reachableUrl(url))}${served}`;
}

/** The one line printed when `dev` could not restart the server and waits for the next change. */
export function formatReloadFailed(reason: string, detail: string): string {
  return `  ${label("reload")} ${reason} → ${styleText("red", "failed")} (${detail}); waiting for changes`;
}

/** The line printed when `dev` could not start the server at all but keeps watching. */
export function formatStartFailed(entry: string, detail: string): string {
  return `  ${label("waiting")} ${entry} could not be served (${detail}); fix it and save to retry`;
}
