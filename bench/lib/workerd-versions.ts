/** The versions line of the "Hearth vs workerd" table: what exactly was compared, with what. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { BENCH_DIR, benchCommit, type Wrk } from "./common.ts";
import type { Workerd } from "./workerd.ts";

function packageVersion(path: string): string {
  try {
    return (JSON.parse(readFileSync(path, "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}


export function versionsLine(workerd: Workerd | undefined, wrk: Wrk | { missing: string }): string {
  const root = join(BENCH_DIR, "..");
  const hearth = `Hearth ${packageVersion(join(root, "package.json"))} (commit ${benchCommit()}) on Node ${process.version}`;
  const sdk = `Agents SDK ${packageVersion(join(root, "node_modules", "agents", "package.json"))}`;
  const runtime = workerd ? `${workerd.version} (compatibility date ${workerd.compatibilityDate})` : "workerd missing";
  const load = "binary" in wrk ? wrk.version : `autocannon ${packageVersion(join(root, "node_modules", "autocannon", "package.json"))}`;
  return `${hearth}; ${runtime}; ${sdk} (bundled for workerd); load generator ${load}`;
}
