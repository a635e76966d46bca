import pg from "pg";
import { redacted } from "../cluster/pg/pool.ts";
import { formatClusterStatus, readClusterStatus } from "../cluster/status.ts";
import { printError } from "./output.ts";

export const CLUSTER_USAGE = `Usage: hearth cluster status [--cluster <postgres-url>] [--schema <name>] [--json]

  status    Nodes of the cluster (state, agents and services held, time since their last heartbeat) and
            totals, read from its Postgres database; no node needs to be running.

Options:
  --cluster <postgres-url>  The cluster's database (default: HEARTH_CLUSTER)
  --schema <name>           The Postgres schema of its tables (default hearth)
  --json                    JSON instead of a table
`;

/** `hearth cluster …`. Resolves to the exit status: 0 done, 1 failed, 2 usage. */
export async function runClusterCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.length === 0 || argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(CLUSTER_USAGE);
    return argv.length === 0 ? 2 : 0;
  }
  const [verb, ...rest] = argv;
  if (verb !== "status") {
    printError(`Unknown cluster command "${verb}" (expected status).\n${CLUSTER_USAGE}`);
    return 2;
  }
  let connectionString = env.HEARTH_CLUSTER;
  let schema: string | undefined;
  let json = false;
  for (let index = 0; index < rest.length; index++) {
    const arg = rest[index]!;
    if (arg === "--json") json = true;
    else if (arg === "--cluster" || arg === "--schema") {
      const value = rest[++index];
      if (value === undefined || value === "") {
        printError(`${arg} needs a value.\n${CLUSTER_USAGE}`);
        return 2;
      }
      if (arg === "--cluster") connectionString = value;
      else schema = value;
    } else {
      printError(`Unexpected argument "${arg}".\n${CLUSTER_USAGE}`);
      return 2;
    }
  }
  if (connectionString === undefined || connectionString === "") {
    printError(`Which cluster? Give --cluster <postgres-url> or set HEARTH_CLUSTER.\n${CLUSTER_USAGE}`);
    return 2;
  }
  const client = new pg.Client({ connectionString, connectionTimeoutMillis: 5_000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    const status = await readClusterStatus(client, schema);
    process.stdout.write(json ? `${JSON.stringify(status, null, 2)}\n` : formatClusterStatus(status));
    return 0;
  } catch (error) {
    const message = (error as { code?: string }).code === "42P01" ? "no Hearth cluster has run on this database yet (its tables are missing)" : (error as Error).message;
    printError(`Cannot read the cluster at ${redacted(connectionString)}: ${message}`);
    return 1;
  } finally {
    await client.end().catch(() => undefined);
  }
}
