/**
 * What a command becomes (one HTTP request, or a live stream to follow), and the helpers each command
 * group plans with. The context notes every option a command reads, so an option the command does
 * not take is refused instead of silently doing nothing.
 */
import { UsageError, type Parsed } from "./args.ts";

/** A live stream to print, one JSON line per message. */
export interface FollowPlan {
  /** `/api/stream?…` */
  path: string;
  /** Keeps a message's data (the stream cannot filter on everything the command can). */
  keep?: (data: unknown) => boolean;
  /** Prints `{ topic, data }` rather than the data alone (when several topics share the output). */
  withTopic: boolean;
}

export interface Planned {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  body?: unknown;
  /** Changes something: sent with the admin token when there is one. */
  write?: boolean;
  /** The answer is text (the Prometheus exposition), printed as it is. */
  text?: boolean;
  follow?: FollowPlan;
}

/** A command's plan from its context. */
export type Planner = (ctx: PlanContext) => Planned;

/** The sub-agent path `--sub` gives, as the API's `?sub=` takes it (each part URL-encoded). */
function subParam(sub: string | undefined): string | undefined {
  return sub === undefined ? undefined : sub.split("/").map(encodeURIComponent).join("/");
}

/** `path` with the defined `params` as its query. */
export function withQuery(path: string, params: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) query.set(key, value);
  const text = query.toString();
  return text === "" ? path : `${path}${path.includes("?") ? "&" : "?"}${text}`;
}

export class PlanContext {
  readonly verb: string;
  readonly args: readonly string[];
  readonly #parsed: Parsed;
  /** The options this command read. */
  readonly used = new Set<string>();
  /** How many arguments this command read. */
  argsRead = 0;

  constructor(parsed: Parsed) {
    const [verb = "", ...args] = parsed.positional;
    this.verb = verb;
    this.args = args;
    this.#parsed = parsed;
  }

  /** An option's value; undefined when not given. */
  flag(name: string): string | undefined {
    this.used.add(name);
    const value = this.#parsed.flags.get(name);
    return typeof value === "string" ? value : undefined;
  }

  /** Whether a yes/no option was given. */
  has(name: string): boolean {
    this.used.add(name);
    return this.#parsed.flags.has(name);
  }

  /** Refuses the command when it has fewer than `count` arguments. */
  need(count: number, shape: string): void {
    if (this.args.length < count) throw new UsageError(`${this.verb} needs ${shape}`);
  }

  /** Argument `index`; a usage error naming `shape` when it is missing. */
  arg(index: number, shape: string): string {
    this.need(index + 1, shape);
    return this.optional(index)!;
  }

  /** Argument `index`, if given. */
  optional(index: number): string | undefined {
    this.argsRead = Math.max(this.argsRead, index + 1);
    return this.args[index];
  }

  /** Refuses options that cannot go together, saying why. */
  refuse(names: readonly string[], why: string): void {
    for (const name of names) if (this.has(name)) throw new UsageError(`--${name} ${why}`);
  }

  /** JSON text given on the command line, parsed; undefined when not given. */
  json(text: string | undefined, what: string): unknown {
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new UsageError(`${what} is not valid JSON: ${text}`);
    }
  }

  /** The query parameters of options: `name` as is, or `[option, parameter]`; paging (`--limit`, `--cursor`) always. */
  params(names: ReadonlyArray<string | readonly [string, string]> = []): Record<string, string | undefined> {
    const params: Record<string, string | undefined> = {};
    for (const entry of [...names, "limit", "cursor"]) {
      const [option, parameter] = typeof entry === "string" ? [entry, entry] : entry;
      if (this.has(option)) params[parameter] = this.flag(option) ?? "true";
    }
    return params;
  }

  /** `/api/agents/<Class>/<name><suffix>` of the first argument, with `--sub` and `params` as the query. */
  agentPath(suffix = "", params: Record<string, string | undefined> = {}): string {
    const [className, name] = splitOnce(this.arg(0, "<Class>/<name>"), "<Class>/<name>");
    const base = `/api/agents/${encodeURIComponent(className)}/${encodeURIComponent(name)}${suffix}`;
    return withQuery(base, { sub: subParam(this.flag("sub")), ...params });
  }

  /**
   * `/api/team-runs/<Class>/<name>/<runId><suffix>` of the first argument, `Class/name/runId` (the name
   * may hold slashes; the run id may not), with `--sub`.
   */
  teamRunPath(suffix = ""): string {
    const address = this.arg(0, "<Class>/<name>/<runId>");
    const first = address.indexOf("/");
    const last = address.lastIndexOf("/");
    if (first <= 0 || last - first < 2 || last === address.length - 1) throw new UsageError(`Expected <Class>/<name>/<runId>, got ${JSON.stringify(address)}`);
    const parts = [address.slice(0, first), address.slice(first + 1, last), address.slice(last + 1)];
    return withQuery(`/api/team-runs/${parts.map(encodeURIComponent).join("/")}${suffix}`, { sub: subParam(this.flag("sub")) });
  }

  /** `/api/workflows/<name>/<id><suffix>` of the first argument, `name/id`. */
  workflowPath(suffix = ""): string {
    const [workflow, id] = splitOnce(this.arg(0, "<workflow>/<id>"), "<workflow>/<id>");
    return `/api/workflows/${encodeURIComponent(workflow)}/${encodeURIComponent(id)}${suffix}`;
  }
}

/** `a/b` as `[a, b]` (b may hold slashes); a usage error naming `shape` otherwise. */
export function splitOnce(text: string, shape: string): [string, string] {
  const slash = text.indexOf("/");
  if (slash <= 0 || slash === text.length - 1) throw new UsageError(`Expected ${shape}, got ${JSON.stringify(text)}`);
  return [text.slice(0, slash), text.slice(slash + 1)];
}
