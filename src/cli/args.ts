import { hostname } from "node:os";
import { availableParallelism } from "node:os";
import { resolve } from "node:path";
import { MAX_SHARDS } from "../shards/placement.ts";
import { tracesDisabledByEnv } from "../observability/traces/env.ts";
import { parseArgs } from "node:util";
import { CliError } from "./errors.ts";
import { DEFAULTS } from "./defaults.ts";
import { USAGE } from "./usage.ts";

export { DEFAULTS } from "./defaults.ts";
export { USAGE, usageOf } from "./usage.ts";

/** The two ways to serve an entry: `dev` watches and restarts, `start` serves in this process. */
export type Command = "dev" | "start";

/** How hard agent storage syncs to disk; passed through to the host. */
export type DurabilityFlag = "strict" | "relaxed";

/** Everything needed to serve an entry, after flags, environment and defaults are merged. */
export interface RunOptions {
  command: Command;
  /** The entry path as typed (relative to the working directory, or absolute); unset: the wrangler config's `main`. */
  entry: string | undefined;
  /**
   * `--env <name>`, else CLOUDFLARE_ENV (as wrangler reads it): the wrangler environment whose
   * bindings, vars and .dev.vars.<name> apply. Unset for the top level (`--env ""` too).
   */
  envName?: string | undefined;
  /** Where the environment was chosen, when it was: `--env` (even `--env ""`), or the CLOUDFLARE_ENV variable. */
  envFrom?: "--env" | "CLOUDFLARE_ENV";
  /** `--config <path>`: the wrangler config file; unset: wrangler.jsonc / .json / .toml in the working directory. */
  configPath?: string | undefined;
  port: number;
  host: string;
  /** Absolute path of the data directory. */
  dataDir: string;
  /** Unset means the host's default. */
  durability: DurabilityFlag | undefined;
  /** Port of the SMTP listener (inbound mail to the entry's `email` export); unset: no listener. */
  smtpPort?: number | undefined;
  /** `GET /metrics` in Prometheus text format; on unless `--no-metrics` or HEARTH_METRICS=0. */
  metrics?: boolean;
  /** The lowest log level written (`--log-level`, HEARTH_LOG_LEVEL); default "info". */
  logLevel?: LogLevelFlag;
  /** `json` lines or `pretty` coloured lines (`--log-format`, HEARTH_LOG_FORMAT); default pretty under `dev`, json under `start`. */
  logFormat?: LogFormat;
  /** Traces kept locally (and exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set); off with `--no-traces` or HEARTH_TRACES=0. */
  traces?: boolean;
  /** The inspector: on under `dev` unless `--no-inspector`; under `start` only with `--inspector` (or HEARTH_INSPECTOR=1). */
  inspector?: boolean;
  /** The inspector's port (`--inspector-port`, HEARTH_INSPECTOR_PORT); default the server's port + 1 (0 when that is 0). */
  inspectorPort?: number;
  /** The inspector's address (`--inspector-host`, HEARTH_INSPECTOR_HOST); default 127.0.0.1; anything else is exposed with a warning. */
  inspectorHost?: string;
  /** Names besides loopback ones the inspector's `Host` header may carry, e.g. a reverse proxy's (`--inspector-allowed-hosts a,b`). */
  inspectorAllowedHosts?: string[];
  /** `--threads <n>` (HEARTH_THREADS): agents spread over this many threads, each with its own event loop; default one per core for `hearth start`, 1 for `hearth dev` and `--cluster`. */
  threads?: number;
  /** `--cluster <postgres-url>` (HEARTH_CLUSTER): this process is one node of a cluster on that Postgres. */
  cluster?: { connectionString: string; nodeId: string; advertise: string };
  /** Settings that neither a flag nor a HEARTH_* variable gave: hearth.config.ts or wrangler's `dev` may set them. */
  defaulted?: DefaultedSetting[];
}

/** The log levels `--log-level` accepts (pino's names). */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevelFlag = (typeof LOG_LEVELS)[number];
export type LogFormat = "json" | "pretty";

/** Settings a project file may supply when the command line does not. */
export type DefaultedSetting = "port" | "host" | "dataDir" | "durability";

/** What the command line asks for. */
export type CliRequest = { kind: "help"; command?: Command } | { kind: "version" } | { kind: "serve"; options: RunOptions };


const SUGGEST_HELP = "Run `hearth --help` for usage.";

/** The flags of `hearth dev` and `hearth start`. */
const SERVE_OPTIONS = {
  port: { type: "string" },
  host: { type: "string" },
  data: { type: "string" },
  durability: { type: "string" },
  "smtp-port": { type: "string" },
  threads: { type: "string" },
  cluster: { type: "string" },
  "node-id": { type: "string" },
  advertise: { type: "string" },
  "no-metrics": { type: "boolean" },
  "log-level": { type: "string" },
  "log-format": { type: "string" },
  "no-traces": { type: "boolean" },
  inspector: { type: "boolean" },
  "no-inspector": { type: "boolean" },
  "inspector-port": { type: "string" },
  "inspector-host": { type: "string" },
  "inspector-allowed-hosts": { type: "string" },
  env: { type: "string", short: "e" },
  config: { type: "string", short: "c" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
} as const satisfies Record<string, { type: "string" | "boolean"; short?: string }>;

/** The commands, `dev` and `start` first, then the tools (tools.ts). */
export const COMMANDS: readonly string[] = ["dev", "start", "secret", "d1", "inspect", "cluster"];

/** What `parseArgs` refused, as this command says it: the unknown flag with the one meant, a missing value. */
function describeParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && unknown) {
    const given = unknown[1] ?? "";
    const names = Object.entries(SERVE_OPTIONS).flatMap(([name, option]) => [`--${name}`, ...("short" in option ? [`-${option.short}`] : [])]);
    const meant = closest(given.replace(/=.*$/, ""), names);
    return `unknown option ${given}${meant ? ` (did you mean ${meant}?)` : ""}`;
  }
  const missing = /^Option '(-[^ ']+)(?:, (--[^ ']+))? <value>' argument missing/.exec(message);
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE" && missing) return `${missing[2] ?? missing[1]} needs a value.`;
  return message;
}

/** The candidate `given` most likely mistyped from: within two edits (or a prefix of it), else undefined. */
export function closest(given: string, candidates: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of candidates) {
    const distance = name.startsWith(given) && given.length >= 4 ? 1 : editDistance(given, name);
    if (distance <= Math.min(2, Math.floor(name.length / 3)) && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/** Levenshtein distance, with a swap of two neighbours counted as one edit. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = value;
    }
  }
  return rows[a.length]![b.length]!;
}

/**
 * Reads the command line. Flags win over `HEARTH_*` variables in `env`, which win over defaults.
 * Relative paths resolve against `cwd`.
 *
 * @throws {CliError} of kind "usage" for unknown flags, bad values or a missing entry argument.
 */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): CliRequest {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: SERVE_OPTIONS,
    });
  } catch (error) {
    throw new CliError("usage", `${describeParseError(error)}\n${SUGGEST_HELP}`);
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    // `hearth dev --help` is dev's help, not the whole command's.
    const command = positionals[0];
    return command === "dev" || command === "start" ? { kind: "help", command } : { kind: "help" };
  }
  if (values.version === true) return { kind: "version" };

  const [command, entry, ...extra] = positionals;
  if (command === undefined) throw new CliError("usage", `Missing command.\n${USAGE}`);
  if (command !== "dev" && command !== "start") {
    const meant = closest(command, COMMANDS);
    const list = `${COMMANDS.slice(0, -1).join(", ")} or ${COMMANDS.at(-1)}`;
    throw new CliError("usage", `Unknown command "${command}"${meant ? `: did you mean ${meant}?` : ""} (expected ${list}).\n${SUGGEST_HELP}`);
  }
  if (extra.length > 0) throw new CliError("usage", `Unexpected argument "${extra[0]}".\n${SUGGEST_HELP}`);

  const givenPort = parsePort(values.port, "--port") ?? parsePort(env.HEARTH_PORT, "HEARTH_PORT");
  const givenHost = nonEmpty(values.host, "--host") ?? nonEmpty(env.HEARTH_HOST, "HEARTH_HOST");
  const givenData = nonEmpty(values.data, "--data") ?? nonEmpty(env.HEARTH_DATA_DIR, "HEARTH_DATA_DIR");
  const defaulted: DefaultedSetting[] = [];
  if (givenPort === undefined) defaulted.push("port");
  if (givenHost === undefined) defaulted.push("host");
  if (givenData === undefined) defaulted.push("dataDir");
  if (values.durability === undefined) defaulted.push("durability");
  const port = givenPort ?? DEFAULTS.port;
  const host = givenHost ?? DEFAULTS.host;
  const data = givenData ?? DEFAULTS.dataDir;
  const smtpPort = parsePort(values["smtp-port"], "--smtp-port") ?? parsePort(env.HEARTH_SMTP_PORT, "HEARTH_SMTP_PORT");
  const threads = parseThreads(values.threads, "--threads") ?? parseThreads(env.HEARTH_THREADS, "HEARTH_THREADS");
  const cluster = parseCluster(values, env, port, host, threads);
  const metrics = values["no-metrics"] !== true && env.HEARTH_METRICS !== "0";
  const logLevel = parseLogLevel(values["log-level"], "--log-level") ?? parseLogLevel(env.HEARTH_LOG_LEVEL, "HEARTH_LOG_LEVEL");
  const logFormat = parseLogFormat(values["log-format"], "--log-format") ?? parseLogFormat(env.HEARTH_LOG_FORMAT, "HEARTH_LOG_FORMAT");
  const traces = values["no-traces"] !== true && !tracesDisabledByEnv(env);
  if (values.inspector === true && values["no-inspector"] === true) throw new CliError("usage", `--inspector and --no-inspector contradict each other.\n${SUGGEST_HELP}`);
  const inspectorFlag = values.inspector === true ? true : values["no-inspector"] === true ? false : env.HEARTH_INSPECTOR === "1" ? true : env.HEARTH_INSPECTOR === "0" ? false : undefined;
  const inspectorPort = parsePort(values["inspector-port"], "--inspector-port") ?? parsePort(env.HEARTH_INSPECTOR_PORT, "HEARTH_INSPECTOR_PORT");
  // The inspector listens on a port of its own: the server's would be taken by the server itself.
  // (A port left to hearth.config.ts or wrangler's `dev` is compared once the server listens: server.ts.)
  if (inspectorPort !== undefined && inspectorPort !== 0 && inspectorPort === givenPort && (inspectorFlag ?? command === "dev")) {
    const inspectorSource = values["inspector-port"] !== undefined ? "--inspector-port" : "HEARTH_INSPECTOR_PORT";
    const portSource = values.port !== undefined ? "--port" : "HEARTH_PORT";
    throw new CliError("usage", `${inspectorSource} and ${portSource} must differ (both are ${port}): the inspector needs a port of its own; without ${inspectorSource} it listens on --port + 1.\n${SUGGEST_HELP}`);
  }
  const inspectorHost = nonEmpty(values["inspector-host"], "--inspector-host") ?? nonEmpty(env.HEARTH_INSPECTOR_HOST, "HEARTH_INSPECTOR_HOST");
  const allowedHostsText = nonEmpty(values["inspector-allowed-hosts"], "--inspector-allowed-hosts") ?? nonEmpty(env.HEARTH_INSPECTOR_ALLOWED_HOSTS, "HEARTH_INSPECTOR_ALLOWED_HOSTS");
  const inspectorAllowedHosts = allowedHostsText?.split(",").map((name) => name.trim()).filter((name) => name !== "");
  const environment = chooseEnvironment(values.env, env);
  return {
    kind: "serve",
    options: {
      command,
      entry,
      port,
      host,
      dataDir: resolve(cwd, data),
      durability: parseDurability(values.durability),
      defaulted,
      ...environment,
      ...(values.config !== undefined ? { configPath: resolve(cwd, nonEmpty(values.config, "--config") ?? "") } : {}),
      ...(smtpPort !== undefined ? { smtpPort } : {}),
      ...(threads !== undefined ? { threads } : {}),
      ...(cluster !== undefined ? { cluster } : {}),
      ...(metrics ? {} : { metrics: false }),
      ...(logLevel !== undefined ? { logLevel } : {}),
      ...(logFormat !== undefined ? { logFormat } : {}),
      ...(traces ? {} : { traces: false }),
      ...(inspectorFlag !== undefined ? { inspector: inspectorFlag } : {}),
      ...(inspectorPort !== undefined ? { inspectorPort } : {}),
      ...(inspectorHost !== undefined ? { inspectorHost } : {}),
      ...(inspectorAllowedHosts !== undefined ? { inspectorAllowedHosts } : {}),
    },
  };
}

/**
 * The wrangler environment: `--env`, else CLOUDFLARE_ENV (wrangler's default for `--env`). An empty
 * name (`--env ""`, `CLOUDFLARE_ENV=`) is the top level, as in wrangler; so is neither.
 */
export function chooseEnvironment(flag: string | undefined, env: NodeJS.ProcessEnv): Pick<RunOptions, "envName" | "envFrom"> {
  const [given, envFrom] = flag !== undefined ? [flag, "--env" as const] : env.CLOUDFLARE_ENV !== undefined ? [env.CLOUDFLARE_ENV, "CLOUDFLARE_ENV" as const] : [undefined, undefined];
  if (envFrom === undefined) return {};
  return given === undefined || given === "" ? { envFrom } : { envName: given, envFrom };
}

function parsePort(raw: string | undefined, source: string): number | undefined {
  if (raw === undefined || (!source.startsWith("--") && raw.trim() === "")) return undefined;
  const text = raw.trim();
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65_535) {
    throw new CliError("usage", `${source} must be a port number from 0 to 65535, got "${raw}".`);
  }
  return port;
}

/** `--threads auto`, and `hearth start`'s default: one thread per core the process may use, at most {@link MAX_SHARDS}. */
export function defaultThreads(): number {
  return Math.min(MAX_SHARDS, availableParallelism());
}

function parseThreads(raw: string | undefined, source: string): number | undefined {
  const text = nonEmpty(raw, source)?.trim().toLowerCase();
  if (text === undefined) return undefined;
  if (text === "auto") return defaultThreads();
  const threads = Number(text);
  if (!/^\d+$/.test(text) || threads < 1 || threads > MAX_SHARDS) {
    throw new CliError("usage", `${source} must be a number of threads from 1 to ${MAX_SHARDS} (MAX_SHARDS), or "auto", got "${raw}".`);
  }
  return threads;
}

function nonEmpty(raw: string | undefined, source: string): string | undefined {
  if (raw === undefined) return undefined;
  if (raw.trim() === "") {
    if (source.startsWith("--")) throw new CliError("usage", `${source} needs a value.`);
    return undefined;
  }
  return raw;
}

function parseLogLevel(raw: string | undefined, source: string): LogLevelFlag | undefined {
  const text = nonEmpty(raw, source)?.trim().toLowerCase();
  if (text === undefined) return undefined;
  if ((LOG_LEVELS as readonly string[]).includes(text)) return text as LogLevelFlag;
  throw new CliError("usage", `${source} must be one of ${LOG_LEVELS.join(", ")}, got "${raw}".`);
}

function parseLogFormat(raw: string | undefined, source: string): LogFormat | undefined {
  const text = nonEmpty(raw, source)?.trim().toLowerCase();
  if (text === undefined) return undefined;
  if (text === "json" || text === "pretty") return text;
  throw new CliError("usage", `${source} must be "json" or "pretty", got "${raw}".`);
}

function parseDurability(raw: string | undefined): DurabilityFlag | undefined {
  if (raw === undefined) return undefined;
  if (raw === "strict" || raw === "relaxed") return raw;
  throw new CliError("usage", `--durability must be "strict" or "relaxed", got "${raw}".`);
}

/** The flags that reproduce `options`, for re-running `start` in a child process: what was given, not what was defaulted. */
export function toStartArgs(options: RunOptions): string[] {
  // Settings left to a project file stay open, so the child reads the file as it is then.
  const open = new Set(options.defaulted ?? []);
  const args = ["start", ...(options.entry !== undefined ? [options.entry] : [])];
  if (!open.has("port")) args.push("--port", String(options.port));
  if (!open.has("host")) args.push("--host", options.host);
  if (!open.has("dataDir")) args.push("--data", options.dataDir);
  if (options.durability !== undefined && !open.has("durability")) args.push("--durability", options.durability);
  if (options.smtpPort !== undefined) args.push("--smtp-port", String(options.smtpPort));
  if (options.threads !== undefined) args.push("--threads", String(options.threads));
  if (options.cluster !== undefined) args.push("--cluster", options.cluster.connectionString, "--node-id", options.cluster.nodeId, "--advertise", options.cluster.advertise);
  if (options.metrics === false) args.push("--no-metrics");
  if (options.logLevel !== undefined) args.push("--log-level", options.logLevel);
  if (options.logFormat !== undefined) args.push("--log-format", options.logFormat);
  if (options.traces === false) args.push("--no-traces");
  // The child is `start`, whose inspector is off unless asked: dev's default travels as a flag.
  if (options.inspector === false) args.push("--no-inspector");
  else if (options.inspector === true || options.command === "dev") args.push("--inspector");
  if (options.inspectorPort !== undefined) args.push("--inspector-port", String(options.inspectorPort));
  if (options.inspectorHost !== undefined) args.push("--inspector-host", options.inspectorHost);
  if (options.inspectorAllowedHosts !== undefined) args.push("--inspector-allowed-hosts", options.inspectorAllowedHosts.join(","));
  // An environment CLOUDFLARE_ENV chose is chosen again by the child, which inherits the variable;
  // `--env ""` travels as given, so the child's CLOUDFLARE_ENV cannot override it.
  if (options.envFrom === "--env" || (options.envFrom === undefined && options.envName !== undefined)) args.push("--env", options.envName ?? "");
  if (options.configPath !== undefined) args.push("--config", options.configPath);
  return args;
}

/** `--cluster` with its node id and advertised address; undefined without `--cluster`. */
function parseCluster(
  values: { cluster?: string | undefined; "node-id"?: string | undefined; advertise?: string | undefined },
  env: Record<string, string | undefined>,
  port: number,
  host: string,
  threads: number | undefined,
): RunOptions["cluster"] {
  const connectionString = nonEmpty(values.cluster, "--cluster") ?? nonEmpty(env.HEARTH_CLUSTER, "HEARTH_CLUSTER");
  const nodeIdGiven = nonEmpty(values["node-id"], "--node-id") ?? nonEmpty(env.HEARTH_NODE_ID, "HEARTH_NODE_ID");
  const advertiseGiven = nonEmpty(values.advertise, "--advertise") ?? nonEmpty(env.HEARTH_ADVERTISE, "HEARTH_ADVERTISE");
  if (connectionString === undefined) {
    if (nodeIdGiven !== undefined || advertiseGiven !== undefined) throw new CliError("usage", `--node-id and --advertise are for cluster nodes: give --cluster <postgres-url> too.\n${SUGGEST_HELP}`);
    return undefined;
  }
  if (!/^postgres(ql)?:\/\//.test(connectionString)) throw new CliError("usage", `--cluster must be a Postgres connection URL (postgres://user@host:5432/database).\n${SUGGEST_HELP}`);
  if (threads !== undefined && threads > 1) throw new CliError("usage", `--cluster runs one thread per node for now: drop --threads ${threads} (run more nodes instead).\n${SUGGEST_HELP}`);
  if (port === 0 && advertiseGiven === undefined) throw new CliError("usage", `--cluster with --port 0 needs --advertise <url>: the other nodes must know where to reach this one.\n${SUGGEST_HELP}`);
  const nodeId = nodeIdGiven ?? hostname();
  const shownHost = host === "0.0.0.0" || host === "::" ? hostname() : host.includes(":") ? `[${host}]` : host;
  const advertise = advertiseGiven ?? `http://${shownHost}:${port}`;
  try {
    const url = new URL(advertise);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("not http(s)");
  } catch {
    throw new CliError("usage", `--advertise must be an http(s) URL where the other nodes reach this one, got "${advertise}".\n${SUGGEST_HELP}`);
  }
  return { connectionString, nodeId, advertise };
}
