/**
 * The help of `hearth`, `hearth dev` and `hearth start`. The two serving commands share their
 * options; each one's help says what it does differently.
 */
import { MAX_SHARDS } from "../shards/placement.ts";
import { DEFAULTS } from "./defaults.ts";

const COMMANDS = `Commands:
  dev [entry]     Serve the project; restart when a .ts/.js/.json file under its
                  directory, the wrangler config or a vars file (below) changes
  start [entry]   Serve the project (no watching)
  secret put|delete|list|bulk   Production secrets, encrypted in the data directory
  d1 execute|migrations         D1 databases of the wrangler config (hearth d1 --help)
  inspect <command>             The running server's inspector from the command line:
                                agents, state, SQL, schedules, workflows, traces, logs,
                                metrics, alerts
                                (hearth inspect --help)
  cluster status                Nodes of a cluster, the agents each holds, their heartbeats
                                (hearth cluster --help)
Each command has its own help: hearth <command> --help.

`;

/** What a project is and how its entry is served. */
const PROJECT = `A project is a wrangler.jsonc / wrangler.json / wrangler.toml in the working directory
(its main is the entry; its bindings, vars, migrations, queues, crons and assets apply),
or an entry file given on the command line. Imports of agents, agents/*,
cloudflare:workers and cloudflare:workflows resolve to Hearth.
Without a wrangler config, every exported class that extends Agent is served at
/agents/<kebab-name>/<instance>; a default export { fetch } handles all requests (use
routeAgentRequest inside it to reach the agents).

`;

/** The options and environment of `dev` and `start`, and where vars come from. */
const SERVE_OPTIONS = `Options:
  --env <name>                   The wrangler environment (env.<name> in the config; "" for the
                                 top level); default: CLOUDFLARE_ENV, as in wrangler
  --config <path>                The wrangler config file (default: found in the working directory)
  --port <n>                     Port to listen on (default ${DEFAULTS.port}, 0 picks a free one)
  --host <addr>                  Address to bind (default ${DEFAULTS.host})
  --data <dir>                   Directory for agent databases (default ${DEFAULTS.dataDir})
  --durability <strict|relaxed>  relaxed (default) survives a process crash, strict also a power loss
  --threads <n>                  Spread agents over n threads, each with its own event loop, SQLite
                                 connections and timers (hearth start: one per core, "auto";
                                 hearth dev and --cluster: 1; up to ${MAX_SHARDS})
  --cluster <postgres-url>       Run as one node of a cluster whose only shared engine is this
                                 Postgres database (docs/cluster/README.md); needs --node-id
  --node-id <id>                 This node's id in the cluster, stable across restarts (default: hostname)
  --advertise <url>              Where the other nodes reach this one (default http://<host>:<port>)
  --smtp-port <n>                Receive mail over SMTP on this port (same address as --host); each
                                 message goes to the default export's email(message, env, ctx)
  --no-metrics                   Do not serve Prometheus metrics at /metrics (served by default)
  --log-level <level>            trace, debug, info (default), warn, error, fatal or silent
  --log-format <json|pretty>     JSON lines (default under start) or coloured lines (default under dev)
  --no-traces                    Keep no traces (kept locally by default; exported over OTLP when
                                 OTEL_EXPORTER_OTLP_ENDPOINT is set)
  --inspector / --no-inspector   The inspector web UI (on by default under dev, off under start)
  --inspector-port <n>           Its port (default: --port + 1)
  --inspector-host <addr>        Its address (default 127.0.0.1; anything else exposes it, with a warning)
  --inspector-allowed-hosts <a,b>  Host names it answers besides loopback (a reverse proxy's name)
  -h, --help                     Show this help
  -v, --version                  Show the version

Environment:
  CLOUDFLARE_ENV                Like --env (the flag wins), as wrangler reads it.
  HEARTH_PORT, HEARTH_HOST, HEARTH_DATA_DIR  Used when the matching flag is not given.
  HEARTH_THREADS                Like --threads.
  HEARTH_CLUSTER, HEARTH_NODE_ID, HEARTH_ADVERTISE  Like --cluster, --node-id and --advertise.
  HEARTH_SMTP_PORT              Like --smtp-port.
  HEARTH_METRICS=0              Like --no-metrics.
  HEARTH_LOG_LEVEL, HEARTH_LOG_FORMAT  Like --log-level and --log-format.
  HEARTH_TRACES=0               Like --no-traces (so does OTEL_SDK_DISABLED=true).
  HEARTH_INSPECTOR=1|0, HEARTH_INSPECTOR_PORT, HEARTH_INSPECTOR_HOST, HEARTH_INSPECTOR_ALLOWED_HOSTS
                                Like the --inspector flags.
  HEARTH_INSPECTOR_TOKEN, HEARTH_INSPECTOR_ADMIN_TOKEN  Fixed inspector tokens (else random; the
                                admin token is kept in <data>/inspector/admin-token).
  HEARTH_SMTP_URL               Outbound mail server, e.g. smtps://user:pass@smtp.example.com:465:
                                Replies, forwards and this.sendEmail() use it; env.EMAIL
                                too when there is no wrangler config.
  HEARTH_EMAIL_WEBHOOK_SECRET   Turns on POST /_hearth/email (raw message, Authorization: Bearer <secret>).
  HEARTH_* settings may also be written in ./.env or ./.dev.vars (the working directory).

Vars (env of the worker and its agents; a later source wins):
  With a wrangler config: its vars; secrets stored with hearth secret put; then, from the
  config's directory, .dev.vars.<env> (with --env, when it exists) or else .dev.vars, or,
  only when neither exists, .env, .env.local, .env.<env>, .env.<env>.local (later file
  wins). The .dev.vars and .env files are never combined, as in wrangler.
  Without one: ./.env, then ./.dev.vars (later file wins).
  Either way, a name set in one of those is taken from the process environment when it is
  set there too (declare API_KEY= in .dev.vars, set the key in production).
`;

/** The `hearth --help` text. */
export const USAGE = `Usage: hearth <command> [entry] [options]

${COMMANDS}${PROJECT}${SERVE_OPTIONS}`;

/** The `hearth dev --help` text. */
export const DEV_USAGE = `Usage: hearth dev [entry] [options]

Serves the project and restarts it when a .ts/.js/.json file under its directory, the wrangler
config or a vars file (below) changes; a failed start waits for the next save. The inspector is on
(--no-inspector turns it off) and agents run on one thread. For production, use hearth start.

${PROJECT}${SERVE_OPTIONS}`;

/** The `hearth start --help` text. */
export const START_USAGE = `Usage: hearth start [entry] [options]

Serves the project in this process, without watching files: the command for production. Agents
run on one thread per core (--threads), the inspector only with --inspector. While developing, use
hearth dev.

${PROJECT}${SERVE_OPTIONS}`;

/** The help of `command`, or the whole command's without one. */
export function usageOf(command?: "dev" | "start"): string {
  return command === "dev" ? DEV_USAGE : command === "start" ? START_USAGE : USAGE;
}
