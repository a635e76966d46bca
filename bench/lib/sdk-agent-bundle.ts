/**
 * Bundles bench/lib/sdk-agent-worker.ts with the real Agents SDK (the `agents` dev dependency) into one
 * ES module for workerd, the way wrangler does: esbuild, browser platform, the `workerd` / `worker` /
 * `browser` export conditions first, `cloudflare:*` and `node:*` left to the runtime (the Worker runs
 * with the nodejs_compat flag, as the SDK asks), decorators lowered for V8. One difference from a
 * deployed Worker: `cloudflare:email` is a stub (see {@link emailStub}).
 */
import { build, type Plugin } from "esbuild";
import { builtinModules } from "node:module";
import { join } from "node:path";
import { BENCH_DIR } from "./common.ts";

/** The Worker source both runtimes run. */
export const SDK_AGENT_WORKER = join(BENCH_DIR, "lib", "sdk-agent-worker.ts");

/** Compatibility flags of the Worker on both runtimes. */
export const SDK_AGENT_FLAGS = ["nodejs_compat"] as const;

const BARE_BUILTINS = new RegExp(`^(${builtinModules.filter((name) => !name.startsWith("_")).join("|").replaceAll("/", "\\/")})$`);

/** Bare Node built-ins (`path`, `crypto`) become `node:` imports for the runtime, as wrangler's nodejs_compat does. */
const nodeBuiltins: Plugin = {
  name: "node-builtins",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: BARE_BUILTINS }, (args) => ({ path: `node:${args.path}`, external: true }));
  },
};

/**
 * `cloudflare:email` as a module of the bundle: a standalone workerd (no email routing configured)
 * has no `cloudflare-internal:email` behind it and refuses to load the Worker. The SDK only builds an
 * EmailMessage when an agent replies to an email, which the benchmark never does.
 */
const emailStub: Plugin = {
  name: "cloudflare-email-stub",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^cloudflare:email$/ }, () => ({ path: "cloudflare-email", namespace: "stub" }));
    pluginBuild.onLoad({ filter: /.*/, namespace: "stub" }, () => ({
      contents: `export class EmailMessage {
  constructor(from, to, raw) { throw new Error("cloudflare:email is not available in this benchmark's workerd"); }
}`,
      loader: "js",
    }));
  },
};

/** Writes the bundle to `outfile`; resolves with its size in bytes. */
export async function bundleSdkAgent(outfile: string): Promise<number> {
  const result = await build({
    entryPoints: [SDK_AGENT_WORKER],
    outfile,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    mainFields: ["browser", "module", "main"],
    external: ["cloudflare:*", "node:*"],
    plugins: [nodeBuiltins, emailStub],
    logLevel: "error",
    metafile: true,
    minify: false,
  });
  const output = Object.values(result.metafile.outputs)[0];
  return output?.bytes ?? 0;
}
