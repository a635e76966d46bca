/**
 * The servers bench/workerd-compare.ts runs, each in a process of its own: Hearth (`hearth start` from
 * dist/, on the Agents SDK Worker of bench/lib/sdk-agent-worker.ts), workerd (`workerd serve`, the same
 * Worker bundled with the real SDK), and a bare node:http server as the machine's ceiling.
 */
import { fork } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { BENCH_DIR } from "./common.ts";
import { startHearth, stopChild, type ServerProcess } from "./do-server.ts";
import { writeHearthSdkProject, writeWorkerdSdkProject } from "./sdk-agent-projects.ts";
import { startWorkerd, type Workerd } from "./workerd.ts";

/** The runtimes compared. Hearth's default durability is "relaxed"; "strict" syncs every commit. */
export type Runtime = "Hearth" | "Hearth, strict" | "workerd";

/**
 * Where a runtime keeps a workload's project and data: `<dir>/project`, `<dir>/data`. Starting again
 * on the same `dir` (a restart) reuses both.
 */
export interface RuntimeSetup {
  runtime: Runtime;
  dir: string;
  compatibilityDate: string;
  /** Needed for "workerd". */
  workerd?: Workerd;
}

/** Writes the project (first start only matters; rewriting is harmless) and starts the server. */
export async function startRuntime(setup: RuntimeSetup): Promise<ServerProcess> {
  const project = join(setup.dir, "project");
  const data = join(setup.dir, "data");
  if (setup.runtime === "workerd") {
    if (!setup.workerd) throw new Error("workerd is missing");
    const config = await writeWorkerdSdkProject(project, data, setup.compatibilityDate);
    return startWorkerd(setup.workerd, config, project);
  }
  writeHearthSdkProject(project, setup.compatibilityDate);
  return startHearth(project, data, setup.runtime === "Hearth, strict" ? "strict" : "relaxed");
}

/** Starts bench/lib/workerd-bare-server.ts in its own Node process. */
export async function startBareServer(): Promise<ServerProcess> {
  const child = fork(join(BENCH_DIR, "lib", "workerd-bare-server.ts"), [], { stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const [message] = (await once(child, "message")) as [{ port: number }];
  return { url: `http://127.0.0.1:${message.port}`, pid: child.pid!, close: () => stopChild(child) };
}
