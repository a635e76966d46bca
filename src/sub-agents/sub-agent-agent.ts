import { AGENT_RUNTIME, HANDLE } from "../agent/agent-base.ts";
import { EmailAgent } from "../email/email-agent.ts";
import { checkFacetName, checkFacetDepth } from "../facets/limits.ts";
import type { OpenedChild } from "../host/actor.ts";
import { agentClassOfSegment, isAgentNamespace } from "../host/namespace.ts";
import { camelCaseToKebabCase } from "../protocol/kebab.ts";
import { actorStub, type ActorDelivery } from "../host/stub.ts";
import type { AgentPathStep } from "./paths.ts";
import { SubAgentRegistry, type SubAgentInfo } from "./registry.ts";
import { methodNamesOf, type SubAgentStub } from "./stub.ts";

/** A sub-agent class: any agent class bound in this worker. */
export type SubAgentClass<T = unknown> = abstract new (...args: never[]) => T;

/** Key of the method that runs a task on a child's instance (see `SubAgentAgent`). */
export const IN_SUB_AGENT: unique symbol = Symbol("hearth.inSubAgent");

/** Key of the method a destroyed child calls on its parent: the parent forgets it (see `destroy`). */
const FORGET_CHILD: unique symbol = Symbol("hearth.forgetChild");

/** How a deleted child's WebSockets close, as the Agents SDK closes them. */
const DELETED_SOCKETS = "Sub-agent deleted";
/** An aborted child's WebSockets stay open, as in the Agents SDK (its root holds them): their next frame starts it again. */
const ABORTED_SOCKETS = null;

/** Separates the class from the name in a sub-agent's facet name (class names have no colon). */
const FACET_SEPARATOR = ":";

/**
 * The sub-agent layer of {@link Agent}: child agents created on demand inside this one, each with
 * its own SQLite database (a facet), its own schedules, workflows, chat and MCP, reachable by typed RPC
 * from the parent and at `/agents/{parent}/{name}/sub/{child}/{name}` from outside.
 */
export class SubAgentAgent<Env = unknown, State = unknown> extends EmailAgent<Env, State> {
  #registry: SubAgentRegistry | undefined;

  /**
   * The child `name` of class `cls`, created (and started: its `onStart` ran) if it did not exist; a
   * typed stub of its own methods.
   * @example
   * const thread = await this.subAgent(Thread, "t-42");
   * await thread.addMessage("hello");
   */
  async subAgent<T>(cls: SubAgentClass<T> | string, name: string): Promise<SubAgentStub<T>> {
    const className = this.#classNameOf(cls);
    const facet = await this.#open(className, name);
    const children = this[AGENT_RUNTIME].children;
    const generation = children.generation(facet);
    const hidden = methodNamesOf(SubAgentAgent.prototype);
    // What every method taken from the stub keeps (not the stub itself): counted until it is collected.
    const deliver: ActorDelivery = (task) => children.deliver(facet, generation, () => ({ className, id: name }), task);
    children.stubMade(facet, deliver);
    return new Proxy(actorStub(deliver), {
      get(target, property, receiver) {
        if (typeof property === "string" && (hidden.has(property) || property === "fetch")) return undefined;
        return Reflect.get(target, property, receiver) as unknown;
      },
    }) as SubAgentStub<T>;
  }

  /**
   * @internal Runs `task` on the child's own instance, in its mailbox (created and started if new):
   * for features that need more than a method call, such as a call that must happen once per key.
   */
  async [IN_SUB_AGENT]<R>(cls: SubAgentClass | string, name: string, task: (child: object) => R | Promise<R>): Promise<R> {
    const className = this.#classNameOf(cls);
    const facet = await this.#open(className, name);
    const children = this[AGENT_RUNTIME].children;
    return children.deliver(facet, children.generation(facet), () => ({ className, id: name }), (actor) => task(actor));
  }

  /** Stops the child; its data stays and its next use restarts it. */
  abortSubAgent(cls: SubAgentClass | string, name: string, reason?: unknown): void {
    const className = this.#classNameOf(cls);
    this[AGENT_RUNTIME].children.abort(checkedFacetName(className, name), reason ?? new Error(`Sub-agent ${className}/${name} was aborted`), ABORTED_SOCKETS);
  }

  /**
   * Deletes this agent's database and closes its connections; a sub-agent is also forgotten by its
   * parent (no longer listed; calls through the parent's older stubs fail as after `deleteSubAgent`),
   * as Cloudflare's facets are. The parent learns it after this returns (a parent waiting on this very
   * call must not hold it up), woken if it hibernated; a parent deleted meanwhile is never made again.
   */
  override async destroy(): Promise<void> {
    const self = this.selfPath.at(-1)!;
    const runtime = this[AGENT_RUNTIME];
    await super.destroy();
    runtime.atStoredParent((parent) => {
      const forget = (parent as unknown as Partial<Record<typeof FORGET_CHILD, (className: string, name: string) => void>>)[FORGET_CHILD];
      forget?.call(parent, self.className, self.name); // a Durable Object facet parent keeps no list
    });
  }

  /** @internal A child destroyed itself: it is no longer listed (unless it was used again since). */
  [FORGET_CHILD](className: string, name: string): void {
    if (!this[AGENT_RUNTIME].children.exists(checkedFacetName(className, name))) this.#subAgents.remove(className, name);
  }

  /** @internal The storage was wiped (`ctx.storage.deleteAll()`): the children went with it, and so does their list. */
  override [HANDLE.wiped](): void {
    super[HANDLE.wiped]();
    this.#subAgents.clear();
  }

  /** Deletes the child: its data, its own sub-agents, its schedules. Idempotent. */
  async deleteSubAgent(cls: SubAgentClass | string, name: string): Promise<void> {
    const className = this.#classNameOf(cls);
    const facet = checkedFacetName(className, name);
    const children = this[AGENT_RUNTIME].children;
    // Unreachable from here on: its stubs' calls fail ("Facet was deleted."), its sockets close.
    children.abort(facet, new Error("Facet was deleted."), DELETED_SOCKETS);
    if (!this.#subAgents.remove(className, name)) return children.delete(facet, DELETED_SOCKETS);
    // Its files go once the row's removal commits (now, unless a transaction() closure holds the
    // commit): a rollback of that closure keeps the child listed and its data whole.
    this[AGENT_RUNTIME].db.afterCommit(() => children.delete(facet, DELETED_SOCKETS));
    this.#subAgents.commitNow();
  }

  /** Whether the child is listed; false for a class this worker does not serve (as in the Agents SDK). */
  hasSubAgent(cls: SubAgentClass | string, name: string): boolean {
    const className = this.#knownClassName(cls);
    return className !== undefined && this.#subAgents.has(className, name);
  }

  /** The children, in creation order; only those of one class when given (none for a class this worker does not serve). */
  listSubAgents(cls?: SubAgentClass | string): SubAgentInfo[] {
    if (cls === undefined) return this.#subAgents.list();
    const className = this.#knownClassName(cls);
    return className === undefined ? [] : this.#subAgents.list(className);
  }

  /** The agents above this one, root first (empty for a top-level agent). */
  get parentPath(): AgentPathStep[] {
    const { rootClassName, rootName, path } = this[AGENT_RUNTIME].lineage;
    if (path.length === 0) return [];
    return [{ className: rootClassName, name: rootName }, ...path.slice(0, -1).map(stepOf)];
  }

  /** {@link parentPath} followed by this agent. */
  get selfPath(): AgentPathStep[] {
    const { rootClassName, path } = this[AGENT_RUNTIME].lineage;
    const self = path.length === 0 ? { className: rootClassName, name: this.name } : stepOf(path.at(-1)!);
    return [...this.parentPath, self];
  }

  /**
   * A stub of this sub-agent's immediate parent, which must be of class `cls`.
   * @example
   * const inbox = await this.parentAgent(Inbox);
   * await inbox.threadUpdated(this.name);
   */
  async parentAgent<T>(cls: SubAgentClass<T> | string): Promise<SubAgentStub<T>> {
    const parent = this.parentPath.at(-1);
    if (!parent) throw new TypeError(`${this.selfPath[0]?.className}/${this.name} is not a sub-agent: it has no parent`);
    const className = typeof cls === "string" ? cls : this.#classNameOf(cls);
    if (className !== parent.className) throw new TypeError(`The parent of this sub-agent is a ${parent.className}, not a ${className}`);
    const runtime = this[AGENT_RUNTIME];
    return actorStub((task) => runtime.atParent(task)) as SubAgentStub<T>;
  }

  /**
   * Runs before a request from outside reaches a child through this agent
   * (`/agents/{this}/{name}/sub/{child}/{name}/…`): return a Response to answer it here, a Request to
   * pass that on instead, nothing to pass it on. Default: pass everything (children are created on
   * first use).
   */
  onBeforeSubAgent(_request: Request, _child: { className: string; name: string }): Request | Response | void | Promise<Request | Response | void> {}

  /** @internal The host opens a child on the way to a sub-agent. */
  async [HANDLE.openChild](classOrSegment: string | object, name: string, request?: Request): Promise<OpenedChild | Response> {
    const className = typeof classOrSegment === "string" ? this.#classFromSegment(classOrSegment) : this.#classNameOf(classOrSegment as SubAgentClass);
    if (className === undefined) {
      const message = `No sub-agent class is served at /sub/${String(classOrSegment)}/ of ${this.selfPath.map((s) => s.className).join("/")}`;
      if (request) return terse(404, message);
      throw new TypeError(message);
    }
    let forwarded = request;
    if (request) {
      try {
        this.#checkChild(className, name);
      } catch (error) {
        return terse(400, (error as Error).message);
      }
      const outcome = await this[HANDLE.scoped](() => this.onBeforeSubAgent(request, { className, name }));
      if (outcome instanceof Response) return outcome;
      if (outcome instanceof Request) forwarded = outcome;
    }
    return { facet: await this.#open(className, name), ...(forwarded ? { request: forwarded } : {}) };
  }

  /**
   * Registers the child (if new) and starts it; undoes the registration if it cannot start. The row
   * commits at once, as on Cloudflare (where a failing handler's writes stay): the child's file and
   * what its onStart did outlive a later failure of this event, and so must its place in the list.
   */
  async #open(className: string, name: string): Promise<string> {
    const facet = this.#checkChild(className, name);
    const children = this[AGENT_RUNTIME].children;
    const added = this.#subAgents.add(className, name);
    if (added) this.#subAgents.commitNow();
    try {
      await children.deliver(facet, children.generation(facet), () => ({ className, id: name }), () => undefined);
    } catch (error) {
      if (added && this.#subAgents.remove(className, name)) this.#subAgents.commitNow();
      throw error;
    }
    return facet;
  }

  /** The child's facet name; throws when the name or the depth is out of bounds, or the class cannot have a URL. */
  #checkChild(className: string, name: string): string {
    if (camelCaseToKebabCase(className) === "sub") {
      throw new TypeError(`Sub-agent class name "${className}" kebab-cases to "sub", which collides with the reserved URL separator: rename the class (e.g. "SubThing" or "Subtask")`);
    }
    const facet = checkedFacetName(className, name);
    checkFacetDepth(this[AGENT_RUNTIME].depth);
    return facet;
  }

  get #subAgents(): SubAgentRegistry {
    this.#registry ??= new SubAgentRegistry(this[AGENT_RUNTIME].db);
    return this.#registry;
  }

  #classNameOf(cls: SubAgentClass | string): string {
    if (typeof cls === "string") {
      // Only a bound class: no other string can reach a facet (a class's name has no colon, the separator).
      if (isAgentNamespace(this[AGENT_RUNTIME].exports[cls])) return cls;
      throw new TypeError(`Sub-agent class "${cls}" not found in worker exports`);
    }
    for (const [binding, value] of Object.entries(this[AGENT_RUNTIME].exports)) {
      if (isAgentNamespace(value) && value.agentClass === cls) return binding;
    }
    throw new TypeError(`Sub-agent class ${cls.name} is not a class of this worker (export it from the entry, or add it to the host's agents)`);
  }

  /** The class's binding, or undefined when this worker does not serve it. */
  #knownClassName(cls: SubAgentClass | string): string | undefined {
    try {
      return this.#classNameOf(cls);
    } catch {
      return undefined;
    }
  }

  #classFromSegment(segment: string): string | undefined {
    return agentClassOfSegment(this[AGENT_RUNTIME].exports, segment);
  }
}

/**
 * A refused sub-agent URL, answered as the Agents SDK answers it: the status and no detail (which
 * would show the parent's view of its classes to any client); the detail goes to the log.
 */
function terse(status: 400 | 404, detail: string): Response {
  console.error(`[hearth] sub-agent route refused (${status}): ${detail}`);
  return new Response(status === 400 ? "Bad Request" : "Not Found", { status });
}

function facetName(className: string, name: string): string {
  return `${className}${FACET_SEPARATOR}${name}`;
}

/**
 * The child's facet name, checked: a NUL would spell a grandchild's place (names are NUL-separated in
 * keys and the schedule index), so aborting or deleting by it would reach into another child's tree.
 */
function checkedFacetName(className: string, name: string): string {
  if (typeof name !== "string" || name.length === 0) throw new TypeError("A sub-agent name must be a non-empty string");
  if (name.includes("\0")) throw new TypeError("A sub-agent name must not contain NUL characters");
  return checkFacetName(facetName(className, name));
}

function stepOf(facet: string): AgentPathStep {
  const at = facet.indexOf(FACET_SEPARATOR);
  return at < 0 ? { className: "", name: facet } : { className: facet.slice(0, at), name: facet.slice(at + 1) };
}

