/**
 * The two projects of bench/workerd-compare.ts around one Worker source (bench/lib/sdk-agent-worker.ts):
 * a wrangler project that `hearth start` runs (the source copied in unchanged, `agents` mapped to
 * Hearth), and a workerd config that runs the same source bundled with the real Agents SDK. Both keep
 * the agent's SQLite storage on disk under a data directory of their own.
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SDK_AGENT_FLAGS, SDK_AGENT_WORKER, bundleSdkAgent } from "./sdk-agent-bundle.ts";

/** The agent class, its binding and its URL segment (`routeAgentRequest`: /agents/counter/<name>). */
export const SDK_AGENT_CLASS = "Counter";
export const SDK_AGENT_PATH = "/agents/counter/";

const SOURCE_FILE = "worker.ts";
const BUNDLE_FILE = "worker.js";

/** Writes the Worker source, a package.json and a wrangler.json into `dir`, for `hearth start`. */
export function writeHearthSdkProject(dir: string, compatibilityDate: string): void {
  mkdirSync(dir, { recursive: true });
  copyFileSync(SDK_AGENT_WORKER, join(dir, SOURCE_FILE));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "sdk-agent-bench", private: true, type: "module" }, null, 2));
  const wrangler = {
    name: "sdk-agent-bench",
    main: SOURCE_FILE,
    compatibility_date: compatibilityDate,
    compatibility_flags: [...SDK_AGENT_FLAGS],
    durable_objects: { bindings: [{ name: SDK_AGENT_CLASS, class_name: SDK_AGENT_CLASS }] },
    migrations: [{ tag: "v1", new_sqlite_classes: [SDK_AGENT_CLASS] }],
  };
  writeFileSync(join(dir, "wrangler.json"), JSON.stringify(wrangler, null, 2));
}

/**
 * Bundles the Worker with the real SDK into `dir` and writes a workerd config beside it: a SQLite-backed
 * Durable Object namespace (`enableSql`) stored on local disk under `storageDir`. The socket named
 * `http` gets its address on the command line. Resolves with the config's path.
 */
export async function writeWorkerdSdkProject(dir: string, storageDir: string, compatibilityDate: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  mkdirSync(storageDir, { recursive: true });
  await bundleSdkAgent(join(dir, BUNDLE_FILE));
  const flags = SDK_AGENT_FLAGS.map((flag) => JSON.stringify(flag)).join(", ");
  const config = `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .agentWorker),
    (name = "do-storage", disk = (path = ${JSON.stringify(storageDir)}, writable = true)),
  ],
  sockets = [(name = "http", http = (), service = "main")],
);

const agentWorker :Workerd.Worker = (
  modules = [(name = ${JSON.stringify(BUNDLE_FILE)}, esModule = embed ${JSON.stringify(BUNDLE_FILE)})],
  compatibilityDate = ${JSON.stringify(compatibilityDate)},
  compatibilityFlags = [${flags}],
  durableObjectNamespaces = [(className = ${JSON.stringify(SDK_AGENT_CLASS)}, uniqueKey = "hearth-bench-sdk-counter", enableSql = true)],
  durableObjectStorage = (localDisk = "do-storage"),
  bindings = [(name = ${JSON.stringify(SDK_AGENT_CLASS)}, durableObjectNamespace = ${JSON.stringify(SDK_AGENT_CLASS)})],
);
`;
  const path = join(dir, "config.capnp");
  writeFileSync(path, config);
  return path;
}
