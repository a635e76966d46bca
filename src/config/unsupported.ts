import type { KeyPath } from "./key-path.ts";
import { whereOf } from "./locate.ts";
import type { ResolvedEnvironment } from "./environment.ts";
import { asTable, bindingName, type CheckContext, type RawTable, tablesOf } from "./read.ts";
import { isUnsafeRateLimit } from "./storage-bindings.ts";

/** How a binding kind is written: one table (`ai = { binding }`) or an array of them. */
type Shape = "single" | "list";

interface UnsupportedKind {
  shape: Shape;
  instead: string;
}

/**
 * Bindings a self-hosted machine cannot provide, with what to use instead. Touching one at run
 * time must throw an error naming the binding and its config line (the host's job).
 */
export const UNSUPPORTED_BINDING_KINDS: Readonly<Record<string, UnsupportedKind>> = {
  ai: {
    shape: "single",
    instead:
      'call a model through chatModelFromEnv() from "hearth/chat", with OPENAI_BASE_URL pointing at an OpenAI-compatible server such as Ollama (or OPENAI_API_KEY / ANTHROPIC_API_KEY)',
  },
  r2_buckets: {
    shape: "list",
    instead: "keep files on local disk, or use an S3-compatible server such as MinIO through the AWS SDK (@aws-sdk/client-s3)",
  },
  vectorize: { shape: "list", instead: "store embeddings with sqlite-vec (SQLite) or pgvector (Postgres)" },
  browser: { shape: "single", instead: "drive a local Chromium with playwright-core (or puppeteer-core)" },
  analytics_engine_datasets: { shape: "list", instead: "write the data points to a D1 table and query them with SQL" },
  services: { shape: "list", instead: "call the other worker over HTTP, its URL in a var" },
  images: { shape: "single", instead: "transform images with a library such as sharp" },
  mtls_certificates: { shape: "list", instead: "make the request with a client certificate through undici's Agent (connect: { cert, key })" },
  dispatch_namespaces: { shape: "list", instead: "load tenant code with worker_loaders, or run each tenant's worker as its own Hearth process" },
  pipelines: { shape: "list", instead: "send the records to a queue (queues.producers) whose consumer writes them where they belong" },
  vpc_services: { shape: "list", instead: "reach the private service directly over HTTP from this machine" },
  vpc_networks: { shape: "list", instead: "reach the private network directly from this machine" },
  version_metadata: { shape: "single", instead: "put the version in a var (for example from git at deploy time)" },
  ai_search: { shape: "list", instead: "index documents with sqlite-vec or pgvector and answer with a model from chatModelFromEnv()" },
  ai_search_namespaces: { shape: "list", instead: "index documents with sqlite-vec or pgvector and answer with a model from chatModelFromEnv()" },
  websearch: { shape: "single", instead: "call a search API over HTTP, its key in a secret" },
  agent_memory: { shape: "list", instead: "keep the memory in KV, D1 or the agent's own SQLite storage" },
  stream: { shape: "single", instead: "process video with ffmpeg, or call a video service over HTTP" },
  media: { shape: "single", instead: "process media with ffmpeg, or call a media service over HTTP" },
  artifacts: { shape: "list", instead: "keep the files on local disk or in an S3-compatible server such as MinIO" },
  flagship: { shape: "list", instead: "keep feature flags in vars or KV, or call a flag service over HTTP" },
  unsafe_hello_world: { shape: "list", instead: "nothing: it is a Cloudflare test binding" },
};

const CONTAINERS_INSTEAD = "run the container with Docker (or Podman) yourself and call it over HTTP";
const UNSAFE_INSTEAD = "nothing: unsafe bindings are Cloudflare-internal";
const LOGFWDR_INSTEAD = "log to standard output, where Hearth's logs go";

/** Remote Durable Object and workflow classes (`script_name`) live in another worker. */
export const SCRIPT_NAME_INSTEAD = {
  durable_objects: "move the class into this worker (Hearth serves the classes of the project it runs), or call the other worker over HTTP",
  workflows: "move the workflow class into this worker (Hearth runs the workflows of the project it runs)",
} as const;

/**
 * Records every unsupported binding of the environment in `ctx.unsupported` (and its name for the
 * duplicate check). `tail_consumers` are not bindings and are ignored.
 */
export function collectUnsupported(ctx: CheckContext, resolved: ResolvedEnvironment): void {
  for (const [key, kind] of Object.entries(UNSUPPORTED_BINDING_KINDS)) {
    const entry = resolved.keys.get(key);
    if (entry === undefined) continue;
    const tables = kind.shape === "single" ? [{ table: asTable(ctx, entry.value, entry.at), at: entry.at }] : tablesOf(ctx, entry.value, entry.at);
    for (const { table, at } of tables) addUnsupported(ctx, key, bindingName(ctx, table, "binding", at), [...at, "binding"], kind.instead);
  }
  for (const key of ["unsafe", "logfwdr"]) {
    const entry = resolved.keys.get(key);
    if (entry === undefined) continue;
    const table = asTable(ctx, entry.value, entry.at);
    if (table.bindings === undefined) continue;
    for (const { table: binding, at } of tablesOf(ctx, table.bindings, [...entry.at, "bindings"])) {
      // An unsafe rate limiter (wrangler's form before `ratelimits`) is read as a rate limit config.
      if (key === "unsafe" && isUnsafeRateLimit(binding)) continue;
      addUnsupported(ctx, key, bindingName(ctx, binding, "name", at), [...at, "name"], key === "unsafe" ? UNSAFE_INSTEAD : LOGFWDR_INSTEAD);
    }
  }
  const containers = resolved.keys.get("containers");
  if (containers !== undefined) {
    // Containers attach to a Durable Object class rather than adding an env binding.
    for (const { table, at } of tablesOf(ctx, containers.value, containers.at)) {
      addUnsupported(ctx, "containers", containerClass(table), [...at, "class_name"], CONTAINERS_INSTEAD);
    }
  }
}

/** One entry of {@link ProjectConfig.unsupported}; `at` is the binding name's key, the line people look for. */
export function addUnsupported(ctx: CheckContext, key: string, binding: string, at: KeyPath, instead: string): void {
  ctx.unsupported.push({ binding, key, where: whereOf(ctx.source, at), instead });
}

function containerClass(table: RawTable): string {
  const name = table.class_name ?? table.name;
  return typeof name === "string" ? name : "(container)";
}
