import { dirname, resolve } from "node:path";
import { readInspectorEndpoint } from "./inspector-endpoint.ts";
import { printError } from "./output.ts";
import { chooseEnvironment } from "./args.ts";

/** A subcommand that is not a server: `hearth secret …`, `hearth d1 …`. Resolves to the exit status. */
export type Tool = (argv: string[], cwd: string, env: NodeJS.ProcessEnv) => Promise<number>;

/**
 * Takes `--env <name>`, `--config <path>` and `--data <dir>` (and their `=` forms) out of `argv`; the
 * environment as `hearth start` chooses it ({@link chooseEnvironment}: `--env`, else CLOUDFLARE_ENV).
 */
function projectFlags(argv: string[], processEnv: NodeJS.ProcessEnv): { rest: string[]; config?: string; data?: string } & ReturnType<typeof chooseEnvironment> {
  const rest: string[] = [];
  const found: Record<string, string> = {};
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index] ?? "";
    const match = /^--(env|config|data)(?:=(.*))?$/.exec(arg);
    if (!match) {
      rest.push(arg);
      continue;
    }
    const value = match[2] ?? argv[++index];
    if (value === undefined || (value === "" && match[1] !== "env")) throw new Error(`--${match[1]} needs a value`);
    found[match[1] ?? ""] = value;
  }
  const { env, ...others } = found;
  return { rest, ...others, ...chooseEnvironment(env, processEnv) };
}

/**
 * The environment the tool works on: as `hearth start` serves it (project.ts), CLOUDFLARE_ENV counts
 * only for a project with a wrangler config (the variable may be set for another project's sake).
 */
function environmentOf(flags: ReturnType<typeof chooseEnvironment>, configPath: string | undefined): string | undefined {
  return configPath === undefined && flags.envFrom === "CLOUDFLARE_ENV" ? undefined : flags.envName;
}

/** The wrangler config the tools read: `--config` (a file), else the one in the working directory. */
async function configPathOf(cwd: string, flag: string | undefined): Promise<string | undefined> {
  if (flag === undefined) return (await import("../config/index.ts")).findWranglerConfig(cwd);
  const path = resolve(cwd, flag);
  (await import("./project.ts")).checkConfigFile(path, cwd);
  return path;
}

async function d1(argv: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.length === 0 || argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write((await import("../d1/index.ts")).D1_USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  try {
    const flags = projectFlags(argv, env);
    const path = await configPathOf(cwd, flags.config);
    if (path === undefined) throw new Error(`hearth d1 reads d1_databases from a wrangler config; none in ${cwd} (use --config <path>).`);
    const config = (await import("../config/index.ts")).loadProjectConfig({ path, envName: flags.envName, envFrom: flags.envFrom });
    const { baseDataDir, environmentDataDir } = await import("./data-dir.ts");
    const dataDir = environmentDataDir(await baseDataDir(cwd, config.dir, flags.data, env), flags.envName);
    const { runD1Command } = await import("../d1/index.ts");
    return await runD1Command(flags.rest, { databases: config.d1Databases, dataDir, cwd, out: (line) => process.stdout.write(`${line}\n`) });
  } catch (error) {
    printError((error as Error).message);
    return 1;
  }
}

async function secret(argv: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<number> {
  let flags: ReturnType<typeof projectFlags>;
  let dataDir: string;
  let path: string | undefined;
  try {
    flags = projectFlags(argv, env);
    path = await configPathOf(cwd, flags.config);
    const { baseDataDir } = await import("./data-dir.ts");
    dataDir = await baseDataDir(cwd, path === undefined ? cwd : dirname(path), flags.data, env);
  } catch (error) {
    printError((error as Error).message);
    return 1;
  }
  const { runSecretCommand } = await import("../secrets/command.ts");
  const envName = environmentOf(flags, path);
  return runSecretCommand(flags.rest, {
    dataDir,
    ...(envName !== undefined ? { envName } : {}),
    stdin: process.stdin,
    isTTY: process.stdin.isTTY === true,
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => (line.startsWith("error ") ? printError(line.slice("error ".length)) : process.stderr.write(`${line}\n`)),
    processEnv: process.env,
    cwd,
    ...(path !== undefined ? { configPath: path } : {}),
    clusterSecrets: async () => (await import("../cluster/bindings/secret-command.ts")).CLUSTER_SECRETS,
  });
}

/**
 * `hearth inspect`: the URL and tokens come from flags or HEARTH_INSPECTOR_*, else from the running
 * server of this project (what it wrote in `<data>/inspector/`).
 */
async function inspect(argv: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<number> {
  let flags: ReturnType<typeof projectFlags>;
  let found: ReturnType<typeof readInspectorEndpoint>;
  try {
    flags = projectFlags(argv, env);
    const given = flags.rest.some((arg) => arg === "--url" || arg.startsWith("--url=")) || env.HEARTH_INSPECTOR_URL;
    const path = given ? undefined : await configPathOf(cwd, flags.config);
    const { baseDataDir, environmentDataDir } = await import("./data-dir.ts");
    const dataDir = given ? undefined : environmentDataDir(await baseDataDir(cwd, path === undefined ? cwd : dirname(path), flags.data, env), environmentOf(flags, path));
    found = dataDir === undefined ? undefined : readInspectorEndpoint(dataDir);
    const wantsHelp = flags.rest.length === 0 || flags.rest.includes("--help") || flags.rest.includes("-h");
    if (dataDir !== undefined && found === undefined && !wantsHelp) {
      throw new Error(`No running inspector for ${dataDir}: start the server with \`hearth dev\` (or \`hearth start --inspector\`), or pass --url and --token.`);
    }
  } catch (error) {
    printError((error as Error).message);
    return 1;
  }
  const fromServer = found
    ? { HEARTH_INSPECTOR_URL: found.url, HEARTH_INSPECTOR_TOKEN: env.HEARTH_INSPECTOR_TOKEN ?? found.token, ...(found.adminToken && !env.HEARTH_INSPECTOR_ADMIN_TOKEN ? { HEARTH_INSPECTOR_ADMIN_TOKEN: found.adminToken } : {}) }
    : {};
  const { runInspectCommand } = await import("./inspect.ts");
  return runInspectCommand(flags.rest, cwd, { ...env, ...fromServer });
}

/** `hearth cluster status`: the cluster as its Postgres database sees it. */
const cluster: Tool = async (argv, _cwd, env) => (await import("./cluster-command.ts")).runClusterCommand(argv, env);

/** The subcommands by name; each loads its own modules when run (`hearth --help` loads none of them). */
export const TOOLS: Record<string, Tool> = { d1, secret, inspect, cluster };
