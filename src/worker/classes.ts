import { camelCaseToKebabCase } from "../protocol/kebab.ts";
import type { ProjectConfig } from "../config/types.ts";
import { Agent } from "../platform/agent.ts";
import { actorKindOf } from "../host/actor.ts";
import { extendsClassNamed } from "../host/class-names.ts";
import type { AgentClass } from "../host/host.ts";
import { WorkflowEntrypoint, type WorkflowClass } from "../workflow/entrypoint.ts";

/** The classes a wrangler config binds, found among the entry's exports. */
export interface BoundClasses {
  /** Agent classes by binding name (one binding per class; see `aliases`). */
  agents: Record<string, AgentClass>;
  /** Plain Durable Object classes by binding name. */
  durableObjects: Record<string, AgentClass>;
  /** Agent and Durable Object classes the entry exports but the config does not bind (sub-agents, facets). */
  exportedClasses: Record<string, AgentClass>;
  /** A second binding of a class already bound: `env[alias]` is the same namespace as `env[binding]`. */
  aliases: Record<string, string>;
  /** Storage directory name per agent binding: the class's own (kebab-case) name, or where a rename left its data. */
  storageNames: Record<string, string>;
  workflows: Record<string, WorkflowClass>;
}

/**
 * Looks up every `durable_objects.bindings[].class_name` and `workflows[].class_name` among the
 * entry's exports. Storage is keyed by class, as on Cloudflare: renaming a binding keeps the data,
 * and `renamed` lists classes whose data lives under an earlier name.
 *
 * @throws {Error} naming the config key for a class the entry does not export, or one that is not an
 *   Agent / WorkflowEntrypoint.
 */
export function bindClasses(config: ProjectConfig, exports: Record<string, unknown>, entry: string, renamed: Record<string, string>): BoundClasses {
  const where = config.envName === undefined ? "" : `env.${config.envName}.`;
  const exported = Object.keys(exports).filter((name) => typeof exports[name] === "function" && name !== "default");
  const missing = (key: string, className: string): Error =>
    new Error(
      `${where}${key}: class "${className}" is not exported by ${entry}` +
        (exported.length > 0 ? ` (it exports ${exported.join(", ")})` : " (it exports no classes)"),
    );
  const result: BoundClasses = { agents: {}, durableObjects: {}, exportedClasses: {}, aliases: {}, storageNames: {}, workflows: {} };
  const bindingOfClass = new Map<string, string>();
  config.durableObjects.forEach((binding, index) => {
    const key = `durable_objects.bindings[${index}].class_name`;
    if (binding.scriptName !== undefined) return; // another worker's class: listed as unsupported
    const value = exports[binding.className];
    if (value === undefined) throw missing(key, binding.className);
    const isAgent = typeof value === "function" && value.prototype instanceof Agent;
    if (!isAgent && actorKindOf(value) === undefined) {
      const copyOf = ["Agent", "DurableObject"].find((base) => extendsClassNamed(value, base));
      throw new Error(
        copyOf
          ? `${where}${key}: "${binding.className}" extends another copy of ${copyOf}, not the one Hearth provides. ` +
              `Import it from "agents" / "cloudflare:workers" in the project's source (Hearth maps them), not from a bundled or vendored copy.`
          : `${where}${key}: "${binding.className}" is not a Durable Object class. Hearth serves classes that extend Agent ` +
              `(from "agents" or "hearth") or DurableObject (from "cloudflare:workers" or "hearth").`,
      );
    }
    const first = bindingOfClass.get(binding.className);
    if (first !== undefined) {
      result.aliases[binding.name] = first;
      return;
    }
    bindingOfClass.set(binding.className, binding.name);
    if (isAgent) result.agents[binding.name] = value as AgentClass;
    else result.durableObjects[binding.name] = value as AgentClass;
    result.storageNames[binding.name] = renamed[binding.className] ?? camelCaseToKebabCase(binding.className);
  });
  const bound = new Set<unknown>([...Object.values(result.agents), ...Object.values(result.durableObjects)]);
  for (const [name, value] of Object.entries(exports)) {
    if (name === "default" || bound.has(value) || typeof value !== "function") continue;
    if (value.prototype instanceof Agent || actorKindOf(value)) result.exportedClasses[name] = value as AgentClass;
  }
  config.workflows.forEach((workflow, index) => {
    if (workflow.scriptName !== undefined) return;
    const key = `workflows[${index}].class_name`;
    const value = exports[workflow.className];
    if (value === undefined) throw missing(key, workflow.className);
    if (typeof value !== "function" || !(value.prototype instanceof WorkflowEntrypoint)) {
      const copy = extendsClassNamed(value, "WorkflowEntrypoint") ? ` It extends another copy of WorkflowEntrypoint than the one Hearth provides.` : "";
      throw new Error(`${where}${key}: "${workflow.className}" is not a class that extends WorkflowEntrypoint (from "cloudflare:workers").${copy}`);
    }
    result.workflows[workflow.binding] = value as WorkflowClass;
  });
  return result;
}
