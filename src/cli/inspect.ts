/**
 * `hearth inspect <verb> …`: the inspector's HTTP API from the command line, for scripts and coding
 * agents. JSON out by default (`--pretty` for tables). The URL and token come from `--url` / `--token`
 * (`--admin-token` for changes) or HEARTH_INSPECTOR_URL / HEARTH_INSPECTOR_TOKEN /
 * HEARTH_INSPECTOR_ADMIN_TOKEN; a URL carrying `#token=…` (as the banner prints it) brings its token.
 */
import { parseSignInFragment } from "../inspector/sign-in-link.ts";

/** Exit statuses: 0 done, 1 the API refused or failed, 2 a usage error. */
export const INSPECT_EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export const INSPECT_USAGE = `Usage: hearth inspect <command> [arguments] [options]

Commands:
  overview                                  live agents, requests, schedules, workflows, problems
  classes                                   agent classes with live counts
  agents [class] [--q <text>]               agent instances (name prefix or substring)
  agent <Class>/<name>                      one agent's summary and features
  state <Class>/<name>                      an agent's state
  set-state <Class>/<name> <json>           replace the state (admin; goes through validateStateChange)
  sql <Class>/<name> "<query>" [--write] [--params <json>]
                                            run SQL: read-only unless --write (admin)
  schema <Class>/<name>                     tables, columns and indexes
  connections <Class>/<name>                open WebSocket connections
  methods <Class>/<name>                    callable methods
  call <Class>/<name> <method> [json args]  invoke a callable method (admin)
  schedules <Class>/<name>                  schedules with their next runs
  run-schedule <Class>/<name> <id>          run a schedule now (admin)
  cancel-schedule <Class>/<name> <id>       cancel a schedule (admin)
  workflows [--workflow <name>] [--status <status>]
  workflow <name>/<id>                      one instance with its steps
  team-runs [<Class>/<name>] [--class <c>] [--status <status>]
                                            team runs: every agent's, or one agent's
  team-run <Class>/<name>/<runId>           one run with its steps (inputs and outputs)
  start-team-run <Class>/<name> <team> [json input]   start a run (admin)
  restart-team-run <Class>/<name>/<runId>   a new run of the same team with the same input (admin)
  pause-team-run | resume-team-run | cancel-team-run <Class>/<name>/<runId>   (admin)
  approve-team-run <Class>/<name>/<runId> <path> [json value]   send a run the event it waits for (admin)
  reject-team-run <Class>/<name>/<runId> <path> [reason]        (admin)
  traces [--class <c>] [--error]            recent traces
  trace <traceId>                           one trace with its spans
  logs [--level <l>] [--class <c>] [--follow]
  alerts                                    alert rules, state and silences
  audit                                     changes made through the inspector

Options:
  --url <url>            the inspector (default HEARTH_INSPECTOR_URL)
  --token <token>        viewer or admin token (default HEARTH_INSPECTOR_TOKEN)
  --admin-token <token>  used for changes (default HEARTH_INSPECTOR_ADMIN_TOKEN, else --token)
  --sub <Class>/<name>   a sub-agent below the agent (repeat the pair for deeper ones)
  --limit <n>, --cursor <c>   paging of lists
  --pretty               a table instead of JSON
`;

/** Where the command writes (tests pass their own). */
export interface InspectIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Ends `logs --follow`. */
  signal?: AbortSignal;
}

interface Parsed {
  positional: string[];
  flags: Map<string, string | true>;
}

const VALUE_FLAGS = new Set(["url", "token", "admin-token", "sub", "limit", "cursor", "q", "params", "workflow", "status", "class", "agent", "level", "since", "model", "conversation"]);
const BOOLEAN_FLAGS = new Set(["write", "pretty", "follow", "error", "help"]);

class UsageError extends Error {}

/**
 * Runs `hearth inspect …`; resolves to the exit status.
 * @example
 * process.exitCode = await runInspectCommand(["state", "Counter/a"], process.cwd(), process.env);
 */
export async function runInspectCommand(argv: string[], _cwd: string, env: NodeJS.ProcessEnv, io: InspectIo = defaultIo()): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseArgs(argv);
    if (parsed.flags.has("help") || parsed.positional.length === 0) {
      io.stdout(INSPECT_USAGE);
      return parsed.positional.length === 0 && !parsed.flags.has("help") ? INSPECT_EXIT.usage : INSPECT_EXIT.ok;
    }
    const { base, token, adminToken } = connection(parsed, env);
    const request = plan(parsed);
    const useToken = request.write ? (adminToken ?? token) : token;
    if (request.follow) return await follow(base, useToken, request.path, io);
    const response = await call(base, useToken, request.method, request.path, request.body);
    const text = await response.text();
    const body = text === "" ? null : (JSON.parse(text) as unknown);
    if (!response.ok) {
      const error = (body as { error?: { code?: string; message?: string } } | null)?.error;
      io.stderr(`hearth inspect: ${response.status} ${error?.code ?? "error"}: ${error?.message ?? text}\n`);
      return INSPECT_EXIT.failed;
    }
    io.stdout(parsed.flags.has("pretty") ? pretty(body) : JSON.stringify(body, null, 2) + "\n");
    return INSPECT_EXIT.ok;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`hearth inspect: ${error.message}\n(hearth inspect --help lists the commands)\n`);
      return INSPECT_EXIT.usage;
    }
    io.stderr(`hearth inspect: ${error instanceof Error ? error.message : String(error)}\n`);
    return INSPECT_EXIT.failed;
  }
}

function defaultIo(): InspectIo {
  return { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) };
}

function parseArgs(argv: readonly string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const match = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!match) {
      positional.push(arg);
      continue;
    }
    const name = match[1]!;
    if (BOOLEAN_FLAGS.has(name)) flags.set(name, true);
    else if (VALUE_FLAGS.has(name)) {
      const value = match[2] ?? argv[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      const previous = flags.get(name);
      flags.set(name, name === "sub" && typeof previous === "string" ? `${previous}/${value}` : value);
    } else throw new UsageError(`Unknown option --${name}`);
  }
  return { positional, flags };
}

function connection(parsed: Parsed, env: NodeJS.ProcessEnv): { base: URL; token: string; adminToken: string | undefined } {
  const raw = flag(parsed, "url") ?? env.HEARTH_INSPECTOR_URL;
  if (!raw) throw new UsageError("The inspector's URL is missing: pass --url or set HEARTH_INSPECTOR_URL (hearth dev prints it in its banner)");
  let base: URL;
  try {
    base = new URL(raw);
  } catch {
    throw new UsageError(`--url is not a URL: ${JSON.stringify(raw)}`);
  }
  const fromUrl = parseSignInFragment(base.hash)?.token;
  base.hash = "";
  const token = flag(parsed, "token") ?? env.HEARTH_INSPECTOR_TOKEN ?? fromUrl;
  if (!token) throw new UsageError("The inspector's token is missing: pass --token or set HEARTH_INSPECTOR_TOKEN");
  return { base, token, adminToken: flag(parsed, "admin-token") ?? env.HEARTH_INSPECTOR_ADMIN_TOKEN };
}

function flag(parsed: Parsed, name: string): string | undefined {
  const value = parsed.flags.get(name);
  return typeof value === "string" ? value : undefined;
}

interface Planned {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  body?: unknown;
  write?: boolean;
  follow?: boolean;
}

function plan(parsed: Parsed): Planned {
  const [verb, ...args] = parsed.positional;
  const need = (count: number, shape: string) => {
    if (args.length < count) throw new UsageError(`${verb} needs ${shape}`);
  };
  const agent = () => {
    need(1, "<Class>/<name>");
    return agentPath(args[0]!, flag(parsed, "sub"));
  };
  const json = (text: string | undefined, what: string): unknown => {
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new UsageError(`${what} is not valid JSON: ${text}`);
    }
  };
  const query = (names: readonly string[], extra: Record<string, string | undefined> = {}) => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(extra)) if (value !== undefined) params.set(key, value);
    for (const name of [...names, "limit", "cursor"]) {
      const value = parsed.flags.get(name);
      if (value !== undefined) params.set(name, value === true ? "true" : value);
    }
    const text = params.toString();
    return text === "" ? "" : `?${text}`;
  };
  switch (verb) {
    case "overview":
      return { method: "GET", path: "/api/overview" };
    case "classes":
      return { method: "GET", path: "/api/classes" };
    case "agents":
      return { method: "GET", path: `/api/agents${query(["q"], { class: args[0] ?? flag(parsed, "class") })}` };
    case "agent":
      return { method: "GET", path: agent().path };
    case "state":
      return { method: "GET", path: agent().with("/state") };
    case "set-state":
      need(2, "<Class>/<name> <json>");
      return { method: "PUT", path: agent().with("/state"), body: { state: json(args[1], "the state") }, write: true };
    case "sql": {
      need(2, '<Class>/<name> "<query>"');
      const write = parsed.flags.has("write");
      return { method: "POST", path: agent().with("/sql/query"), body: { sql: args[1], params: json(flag(parsed, "params"), "--params"), write }, write };
    }
    case "schema":
      return { method: "GET", path: agent().with("/sql/schema") };
    case "connections":
      return { method: "GET", path: agent().with("/connections") };
    case "methods":
      return { method: "GET", path: agent().with("/methods") };
    case "call": {
      need(2, "<Class>/<name> <method> [json args]");
      const callArgs = json(args[2], "the arguments") ?? [];
      return { method: "POST", path: agent().with(`/methods/${encodeURIComponent(args[1]!)}`), body: { args: Array.isArray(callArgs) ? callArgs : [callArgs] }, write: true };
    }
    case "schedules":
      return { method: "GET", path: agent().with("/schedules") };
    case "run-schedule":
      need(2, "<Class>/<name> <schedule id>");
      return { method: "POST", path: agent().with(`/schedules/${encodeURIComponent(args[1]!)}/run`), write: true };
    case "cancel-schedule":
      need(2, "<Class>/<name> <schedule id>");
      return { method: "DELETE", path: agent().with(`/schedules/${encodeURIComponent(args[1]!)}`), write: true };
    case "workflows":
      return { method: "GET", path: `/api/workflows${query(["workflow", "status", "q"])}` };
    case "workflow": {
      need(1, "<name>/<id>");
      const [workflow, id] = splitOnce(args[0]!, "<name>/<id>");
      return { method: "GET", path: `/api/workflows/${encodeURIComponent(workflow)}/${encodeURIComponent(id)}` };
    }
    case "team-runs": {
      if (args[0] === undefined) return { method: "GET", path: `/api/team-runs${query(["class", "status"])}` };
      const path = agent().with("/team-runs");
      const page = query([]);
      return { method: "GET", path: page === "" ? path : `${path}${path.includes("?") ? "&" : "?"}${page.slice(1)}` };
    }
    case "team-run":
      need(1, "<Class>/<name>/<runId>");
      return { method: "GET", path: teamRunPath(args[0]!, flag(parsed, "sub")) };
    case "start-team-run":
      need(2, "<Class>/<name> <team> [json input]");
      return { method: "POST", path: agent().with("").replace("/api/agents/", "/api/team-runs/"), body: { team: args[1], input: json(args[2], "the input") }, write: true };
    case "restart-team-run":
    case "pause-team-run":
    case "resume-team-run":
      need(1, "<Class>/<name>/<runId>");
      return { method: "POST", path: teamRunPath(args[0]!, flag(parsed, "sub"), `/${verb.slice(0, -"-team-run".length)}`), body: {}, write: true };
    case "cancel-team-run":
      need(1, "<Class>/<name>/<runId> [reason]");
      return { method: "POST", path: teamRunPath(args[0]!, flag(parsed, "sub"), "/cancel"), body: args[1] === undefined ? {} : { reason: args[1] }, write: true };
    case "approve-team-run":
      need(2, "<Class>/<name>/<runId> <path> [json value]");
      return { method: "POST", path: teamRunPath(args[0]!, flag(parsed, "sub"), "/approve"), body: { path: args[1], value: json(args[2], "the value") }, write: true };
    case "reject-team-run":
      need(2, "<Class>/<name>/<runId> <path> [reason]");
      return { method: "POST", path: teamRunPath(args[0]!, flag(parsed, "sub"), "/reject"), body: { path: args[1], ...(args[2] === undefined ? {} : { reason: args[2] }) }, write: true };
    case "traces":
      return { method: "GET", path: `/api/traces${query(["class", "agent", "conversation", "model", "error"])}` };
    case "trace":
      need(1, "<traceId>");
      return { method: "GET", path: `/api/traces/${encodeURIComponent(args[0]!)}` };
    case "logs":
      if (parsed.flags.has("follow")) return { method: "GET", path: `/api/stream?topics=logs${query(["class", "agent"]).replace("?", "&")}`, follow: true };
      return { method: "GET", path: `/api/logs${query(["level", "class", "agent", "q", "since"])}` };
    case "alerts":
      return { method: "GET", path: "/api/alerts" };
    case "audit":
      return { method: "GET", path: `/api/audit${query([])}` };
    default:
      throw new UsageError(`Unknown command ${JSON.stringify(verb)}`);
  }
}

function splitOnce(text: string, shape: string): [string, string] {
  const slash = text.indexOf("/");
  if (slash <= 0 || slash === text.length - 1) throw new UsageError(`Expected ${shape}, got ${JSON.stringify(text)}`);
  return [text.slice(0, slash), text.slice(slash + 1)];
}

function agentPath(address: string, sub: string | undefined): { path: string; with(suffix: string): string } {
  const [className, name] = splitOnce(address, "<Class>/<name>");
  const base = `/api/agents/${encodeURIComponent(className)}/${encodeURIComponent(name)}`;
  const query = sub === undefined ? "" : `?sub=${encodeURIComponent(sub.split("/").map(encodeURIComponent).join("/"))}`;
  return { path: base + query, with: (suffix) => base + suffix + query };
}

/** `/api/team-runs/<Class>/<name>/<runId><suffix>` of `Class/name/runId` (the name may hold slashes; the run id may not). */
function teamRunPath(address: string, sub: string | undefined, suffix = ""): string {
  const first = address.indexOf("/");
  const last = address.lastIndexOf("/");
  if (first <= 0 || last - first < 2 || last === address.length - 1) throw new UsageError(`Expected <Class>/<name>/<runId>, got ${JSON.stringify(address)}`);
  const [className, name] = [address.slice(0, first), address.slice(first + 1, last)];
  const query = sub === undefined ? "" : `?sub=${encodeURIComponent(sub.split("/").map(encodeURIComponent).join("/"))}`;
  return `/api/team-runs/${[className, name, address.slice(last + 1)].map(encodeURIComponent).join("/")}${suffix}${query}`;
}

async function call(base: URL, token: string, method: string, path: string, body?: unknown): Promise<Response> {
  const url = new URL(path, base);
  try {
    return await fetch(url, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    const reason = (error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message;
    throw new Error(`Cannot reach the inspector at ${base.origin}: ${reason}`, { cause: error });
  }
}

/** `logs --follow`: prints each log entry of the live stream as one JSON line until the stream ends. */
async function follow(base: URL, token: string, path: string, io: InspectIo): Promise<number> {
  const url = new URL(path, base);
  let response: Response;
  try {
    response = await fetch(url, { headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" }, ...(io.signal ? { signal: io.signal } : {}) });
  } catch (error) {
    if (io.signal?.aborted) return INSPECT_EXIT.ok;
    throw new Error(`Cannot reach the inspector at ${base.origin}: ${(error as Error).message}`, { cause: error });
  }
  if (!response.ok || !response.body) {
    io.stderr(`hearth inspect: ${response.status}: ${await response.text()}\n`);
    return INSPECT_EXIT.failed;
  }
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf("\n\n")) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = block.split("\n").find((line) => line.startsWith("data: "));
        if (data) io.stdout(data.slice(6) + "\n");
      }
    }
  } catch (error) {
    if (!io.signal?.aborted) throw error;
  }
  return INSPECT_EXIT.ok;
}

/** A table for a list of objects (or a page's items); `key: value` lines for one object. */
export function pretty(body: unknown): string {
  const list = Array.isArray(body) ? body : Array.isArray((body as { items?: unknown })?.items) ? (body as { items: unknown[] }).items : undefined;
  const cellText = (value: unknown) => (value === undefined ? "" : typeof value === "string" ? value : JSON.stringify(value));
  if (list) {
    if (list.length === 0) return "(none)\n";
    const columns = [...new Set(list.flatMap((row) => (typeof row === "object" && row !== null ? Object.keys(row) : ["value"])))];
    const rows = list.map((row) => columns.map((column) => cellText(typeof row === "object" && row !== null ? (row as Record<string, unknown>)[column] : row).slice(0, 60)));
    const widths = columns.map((column, i) => Math.max(column.length, ...rows.map((row) => row[i]!.length)));
    const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd();
    return [line(columns), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n") + "\n";
  }
  if (typeof body === "object" && body !== null) return Object.entries(body).map(([key, value]) => `${key}: ${cellText(value)}`).join("\n") + "\n";
  return cellText(body) + "\n";
}
