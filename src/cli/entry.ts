import { pathToFileURL } from "node:url";
import { Agent, WorkflowEntrypoint, type AgentClass, type WorkerFetch, type WorkflowClass } from "../index.ts";
import type { WorkerEmail } from "../email/types.ts";
import { extendsClassNamed } from "../host/class-names.ts";
import { workerHandlers, type WorkerHandlers } from "../worker/handlers.ts";
import { MAPPED_MODULES } from "../compat/module-map.ts";
import { actorKindOf } from "../host/actor.ts";
import type { ModuleRuleConfig } from "../config/types.ts";
import { CliError } from "./errors.ts";
import { defaultOf, registerProjectLoader, resolveEntry } from "./entry-file.ts";
import { planModuleRules } from "../config/module-rules.ts";
import { useModuleRules } from "./module-rules.ts";
import { formatSyntaxProblems, syntaxProblemsOf } from "./syntax-errors.ts";

/** What an entry module offers to serve. */
export interface EntryModule {
  /** Absolute path of the entry file. */
  path: string;
  /** The path as shown to the user: relative to the working directory when inside it. */
  display: string;
  /** Agent classes by binding name (the export name; a default-exported class uses its class name). */
  agents: Record<string, AgentClass>;
  /** Plain Durable Object classes by export name. */
  durableObjects: Record<string, AgentClass>;
  /**
   * Workflow classes by binding name: the export name, unless `export const config = { workflows:
   * { ExportName: { binding: "OTHER" } } }` renames it.
   */
  workflows: Record<string, WorkflowClass>;
  /** The default export's `fetch`, bound to it, if it has one. */
  fetch: WorkerFetch | undefined;
  /** The default export's `email(message, env, ctx)`, bound to it, if it has one: inbound mail goes there. */
  email?: WorkerEmail;
  /** Set when the default export is an MCP endpoint (`MyMcp.serve("/mcp")`): where it is served. */
  mcp?: { path: string; transport: string };
  /** Every handler of the default export (fetch, email, scheduled, queue). */
  handlers: WorkerHandlers;
  /** The module's exports, for a wrangler config that binds classes by their export name. */
  exports: Record<string, unknown>;
  /** Things worth telling the user that do not stop the server. */
  warnings: string[];
}

/** What {@link loadEntry} applies besides the entry itself. */
export interface LoadEntryOptions {
  /** wrangler's `rules`: they come before the default rules (`.txt`, `.html`, `.sql`, `.bin`, `.wasm`), which apply in any case. */
  moduleRules?: readonly ModuleRuleConfig[];
}

/**
 * Imports the entry through tsx, so TypeScript (including TC39 decorators such as `@callable()`)
 * and JavaScript both load, with wrangler's module rules (`import page from "./page.html"` is a
 * string), then finds its agent classes and worker handler.
 *
 * @throws {CliError} "entry-not-found", "entry-failed" when importing throws, or "nothing-to-serve"
 *   when there is neither an agent class nor a default `fetch`.
 */
export async function loadEntry(entry: string, cwd: string, options: LoadEntryOptions = {}): Promise<EntryModule> {
  const { path, display } = resolveEntry(entry, cwd);
  registerProjectLoader();
  useModuleRules(planModuleRules(options.moduleRules));
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new CliError("entry-failed", `${await describeLoadError(error, path, display, cwd)}${hintFor(error)}`, { cause: error });
  }
  return inspectModule(mod, path, display);
}

/**
 * What importing the entry failed on. A syntax error is shown where it is, with the lines around it,
 * and without the stack of the compiler that found it; anything else with its stack.
 */
async function describeLoadError(error: unknown, path: string, display: string, cwd: string): Promise<string> {
  const problems = await syntaxProblemsOf(error, path);
  if (problems === undefined) return `${display} threw while loading:\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}`;
  if (problems.length === 0) return `${display} could not be loaded: ${(error as Error).name}: ${(error as Error).message} (in a module it imports)`;
  const elsewhere = problems.every((problem) => problem.file !== path) ? `\n  (imported while loading ${display})` : "";
  return `${formatSyntaxProblems(problems, cwd)}${elsewhere}`;
}

/** A hint for load errors that usually mean the entry was compiled as CommonJS. */
function hintFor(error: unknown): string {
  const missing = /The requested module '([^']+)' does not provide an export named '([^']+)'/.exec((error as Error | null)?.message ?? "");
  if (missing && (missing[1] ?? "") in MAPPED_MODULES) {
    return `\n  hint: Hearth's ${missing[1]} (${MAPPED_MODULES[missing[1] ?? ""]?.what}) has no ${missing[2]} yet; docs/compat.md lists what is covered.`;
  }
  const code = (error as { code?: unknown } | null)?.code;
  // esbuild's "Top-level await is currently not supported with the "cjs" output format", and the like.
  const cjsOnly = /with the "cjs" output format/.test((error as Error | null)?.message ?? "");
  if (cjsOnly) {
    return (
      `\n  hint: the file was compiled as CommonJS (its package.json has no "type": "module"), which does not allow` +
      ` this. Add "type": "module" to the nearest package.json, or name the file .mts / .mjs.`
    );
  }
  if (code !== "ERR_PACKAGE_PATH_NOT_EXPORTED" && code !== "ERR_REQUIRE_ESM") return "";
  return (
    `\n  hint: the entry was loaded as CommonJS, but hearth is an ES module. Add "type": "module" to the` +
    ` nearest package.json, or name the entry .mts / .mjs.`
  );
}

/** Finds the agent classes and the worker `fetch` among a module's exports. */
export function inspectModule(mod: Record<string, unknown>, path: string, display: string): EntryModule {
  const agents: Record<string, AgentClass> = {};
  const durableObjects: Record<string, AgentClass> = {};
  const warnings: string[] = [];
  const lookalikes: string[] = [];
  const workflows: Record<string, WorkflowClass> = {};
  const renames = workflowBindings(mod.config, warnings);
  for (const [name, value] of Object.entries(mod)) {
    if (name === "default") continue;
    if (isAgentClass(value)) agents[name] = value;
    else if (actorKindOf(value)) durableObjects[name] = value as AgentClass;
    else if (isWorkflowClass(value)) workflows[renames.get(name) ?? name] = value;
    else if (extendsClassNamed(value, "Agent")) lookalikes.push(name);
  }
  for (const name of renames.keys()) {
    if (!isWorkflowClass(mod[name])) warnings.push(`config.workflows.${name} names no exported WorkflowEntrypoint class; it is ignored.`);
  }

  const defaultExport = defaultOf(mod);
  const handlers = isAgentClass(defaultExport) ? {} : (workerHandlers(defaultExport) ?? {});
  const { fetch, email, mcp } = handlers;
  if (isAgentClass(defaultExport)) {
    const name = defaultExport.name;
    if (name === "" || name === "default") {
      warnings.push(`The default-exported agent class has no name; give it one or export it by name to serve it.`);
    }
    else if (!(name in agents)) agents[name] = defaultExport;
  } else if (defaultExport !== undefined && Object.keys(handlers).length === 0) {
    warnings.push(`The default export of ${display} has no fetch(request, env), email, scheduled or queue handler; it is ignored.`);
  }

  for (const name of lookalikes) {
    warnings.push(
      `${name} extends a class named Agent that is not this hearth's Agent (two copies of hearth installed?); it is not served.`,
    );
  }
  if (Object.keys(agents).length === 0 && Object.keys(durableObjects).length === 0 && Object.keys(workflows).length === 0) {
    if (Object.keys(handlers).length === 0) {
      throw new CliError(
        "nothing-to-serve",
        `${display} exports no Agent classes and no default { fetch } handler, so there is nothing to serve.\n` +
          `  Export a class that extends Agent, e.g. \`export class Counter extends Agent {}\`.`,
      );
    }
    warnings.push(`${display} exports no Agent classes; only its fetch handler is served.`);
  }
  return {
    path,
    display,
    agents,
    durableObjects,
    workflows,
    fetch,
    handlers,
    exports: mod,
    warnings,
    ...(mcp ? { mcp } : {}),
    ...(email ? { email } : {}),
  };
}

/** Whether `value` is a class deriving from this package's `WorkflowEntrypoint`. */
export function isWorkflowClass(value: unknown): value is WorkflowClass {
  return typeof value === "function" && value.prototype instanceof WorkflowEntrypoint;
}

/** `export const config = { workflows: { ExportName: { binding: "NAME" } } }` → ExportName → NAME. */
function workflowBindings(config: unknown, warnings: string[]): Map<string, string> {
  const renames = new Map<string, string>();
  const section = (config as { workflows?: unknown } | undefined)?.workflows;
  if (section === undefined) return renames;
  if (typeof section !== "object" || section === null) {
    warnings.push("config.workflows must be an object like { MyWorkflow: { binding: \"MY_WORKFLOW\" } }; it is ignored.");
    return renames;
  }
  for (const [name, entry] of Object.entries(section)) {
    const binding = (entry as { binding?: unknown } | null)?.binding;
    if (typeof binding === "string" && /^[A-Za-z_$][\w$]*$/.test(binding)) renames.set(name, binding);
    else warnings.push(`config.workflows.${name}.binding must be an identifier string; the class keeps its own name.`);
  }
  return renames;
}

/** Whether `value` is a class deriving from this package's `Agent`. */
export function isAgentClass(value: unknown): value is AgentClass {
  return typeof value === "function" && value.prototype instanceof Agent;
}
