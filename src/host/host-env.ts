import { WorkerLoader } from "../sandbox/loader.ts";
import { WorkflowBinding } from "../workflow/binding.ts";
import type { WorkflowApi } from "../workflow/api.ts";
import { WorkflowEntrypoint, type WorkflowClass } from "../workflow/entrypoint.ts";
import { twoCopiesHint } from "./class-registry.ts";

/** The options `env` is built from. */
export interface HostEnvOptions {
  vars?: Record<string, unknown>;
  workflows?: Record<string, WorkflowClass>;
  bindings?: Record<string, unknown>;
}

/**
 * What a worker's fetch, every agent and every workflow receive as `env`: variables, one namespace per
 * actor class, one binding per workflow, the platform bindings, and `LOADER` (Dynamic Workers) unless
 * the app binds that name itself. Names may not clash.
 */
export function buildHostEnv(
  options: HostEnvOptions,
  namespaces: Record<string, unknown>,
  engine: () => WorkflowApi,
): { env: Record<string, unknown>; workflows: Map<string, WorkflowClass>; loader: WorkerLoader | undefined } {
  const env: Record<string, unknown> = { ...options.vars };
  for (const [className, namespace] of Object.entries(namespaces)) {
    if (className in env) throw new TypeError(`The class binding ${className} clashes with a variable of the same name`);
    env[className] = namespace;
  }
  const workflows = new Map<string, WorkflowClass>();
  for (const [name, ctor] of Object.entries(options.workflows ?? {})) {
    if (typeof ctor !== "function" || !(ctor.prototype instanceof WorkflowEntrypoint)) {
      throw new TypeError(`workflows.${name} is not a class that extends WorkflowEntrypoint${twoCopiesHint(ctor, "WorkflowEntrypoint")}`);
    }
    if (name in env) throw new TypeError(`The workflow binding ${name} clashes with an agent class or variable of the same name`);
    workflows.set(name, ctor);
    env[name] = new WorkflowBinding(engine, name);
  }
  for (const [name, value] of Object.entries(options.bindings ?? {})) {
    if (name in env) throw new TypeError(`The binding ${name} clashes with an agent class, workflow or variable of the same name`);
    env[name] = value;
  }
  let loader: WorkerLoader | undefined;
  if (!("LOADER" in env)) {
    loader = new WorkerLoader();
    env.LOADER = loader;
  }
  return { env, workflows, loader };
}
