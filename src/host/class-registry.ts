import { createHash } from "node:crypto";
import { AgentBase } from "../agent/agent-base.ts";
import type { AgentContextWithRuntime } from "../agent/runtime.ts";
import { optionsOf } from "../agent/options.ts";
import { camelCaseToKebabCase } from "../protocol/kebab.ts";
import { actorKindOf, type Actor, type ActorDispatcher, type ActorKind } from "./actor.ts";
import type { AgentBinding } from "./cell.ts";
import { extendsClassNamed } from "./class-names.ts";
import { AgentNamespace } from "./namespace.ts";

type AnyClass = abstract new (...args: never[]) => unknown;

export interface ClassRegistryOptions {
  agents: Record<string, AnyClass>;
  /** Classes of another actor kind (plain Durable Objects), each declaring its kind. */
  durableObjects?: Record<string, AnyClass>;
  /**
   * Classes the worker exports without binding them (agents or Durable Objects): usable as sub-agents
   * and facets (`ctx.exports`), with no `env` binding and no URL of their own.
   */
  exportedClasses?: Record<string, AnyClass>;
  storageNames?: Record<string, string>;
}

/** The host's actor classes: by binding name, by storage directory, and their `env` namespaces. */
export interface ClassRegistry {
  readonly byName: Map<string, AgentBinding>;
  readonly bySlug: Map<string, AgentBinding>;
  /** The bound classes' namespaces: what `env` gets. */
  readonly namespaces: Record<string, unknown>;
  /** Every class's namespace, bound or only exported: what `ctx.exports` holds. */
  readonly exports: Record<string, unknown>;
}

/**
 * Registers every actor class: its storage directory (kebab-case name, or the one a rename left
 * behind), its URL segment and its `env` namespace. Agents and other actor kinds share one table,
 * so one host, one schedule index and one socket hub serve them all.
 */
export function registerClasses(dispatcher: ActorDispatcher, options: ClassRegistryOptions): ClassRegistry {
  const registry: ClassRegistry = { byName: new Map(), bySlug: new Map(), namespaces: {}, exports: {} };
  const urls = new Map<string, string>();
  const add = (
    className: string,
    key: string,
    make: (slug: string, storageSlug: string) => { create: AgentBinding["create"]; namespace: unknown },
    bound = true,
  ): void => {
    if (registry.byName.has(className)) throw new TypeError(`${key} is bound twice (as an agent and as a Durable Object)`);
    const slug = camelCaseToKebabCase(className);
    const clash = urls.get(slug);
    // Two classes with one URL segment: the URL serves the first (routing matches in order); the
    // second keeps its own storage and index key, and is reached through its binding.
    const storageSlug =
      options.storageNames?.[className] ?? (clash ? `${slug}-${createHash("sha256").update(className).digest("hex").slice(0, 8)}` : slug);
    if (clash) {
      console.warn(
        `[hearth] Classes ${clash} and ${className} both map to /${slug}/: the URL serves ${clash}; ` +
          `reach ${className} through env.${className} (its data lives under agents/${storageSlug}/). Rename one to give it a URL.`,
      );
    } else {
      urls.set(slug, className);
    }
    if (registry.bySlug.has(storageSlug)) {
      throw new TypeError(`${key} would share the storage directory agents/${storageSlug}/ with ${registry.bySlug.get(storageSlug)?.className}`);
    }
    const { create, namespace } = make(slug, storageSlug);
    const binding: AgentBinding = { className, slug: storageSlug, create };
    registry.byName.set(className, binding);
    registry.bySlug.set(storageSlug, binding);
    registry.exports[className] = namespace;
    if (bound) registry.namespaces[className] = namespace;
  };

  const addAgent = (className: string, ctor: AnyClass, key: string, bound: boolean): void => {
    optionsOf(ctor as never); // a wrong `static options` fails at start-up, not at the first request
    const AgentClass = ctor as unknown as new (ctx: AgentContextWithRuntime, env: unknown) => AgentBase;
    add(
      className,
      key,
      (slug) => ({
        create: (ctx, env) => new AgentClass(ctx, env) as unknown as Actor,
        namespace: new AgentNamespace(dispatcher, className, slug, AgentClass as never),
      }),
      bound,
    );
  };
  const addObject = (className: string, kind: ActorKind, ctor: AnyClass, key: string, bound: boolean): void => {
    add(
      className,
      key,
      (slug, storageSlug) => {
        const namespace = kind.namespace({ className, slug, storageSlug, ctor, dispatcher });
        return { create: (ctx, env) => kind.create(ctx, env, namespace), namespace };
      },
      bound,
    );
  };
  for (const [className, ctor] of Object.entries(options.agents)) {
    if (!isAgentClass(ctor)) throw new TypeError(`agents.${className} is not a class that extends Agent${twoCopiesHint(ctor, "Agent")}`);
    addAgent(className, ctor, `agents.${className}`, true);
  }
  for (const [className, ctor] of Object.entries(options.durableObjects ?? {})) {
    const kind = actorKindOf(ctor);
    if (!kind) {
      throw new TypeError(`durableObjects.${className} is not a class that extends DurableObject${twoCopiesHint(ctor, "DurableObject")}`);
    }
    addObject(className, kind, ctor, `durableObjects.${className}`, true);
  }
  for (const [className, ctor] of Object.entries(options.exportedClasses ?? {})) {
    const kind = actorKindOf(ctor);
    if (isAgentClass(ctor)) addAgent(className, ctor, `exportedClasses.${className}`, false);
    else if (kind) addObject(className, kind, ctor, `exportedClasses.${className}`, false);
    else throw new TypeError(`exportedClasses.${className} is neither an Agent nor a DurableObject class`);
  }
  return registry;
}

function isAgentClass(ctor: unknown): ctor is AnyClass {
  return typeof ctor === "function" && ctor.prototype instanceof AgentBase;
}

/** Names a base class that failed `instanceof` because it comes from another copy of hearth. */
export function twoCopiesHint(ctor: unknown, base: string): string {
  return extendsClassNamed(ctor, base)
    ? ` — it extends a different copy of hearth's ${base} (is hearth loaded twice, e.g. from its source and from dist/, or from two installs?)`
    : "";
}
