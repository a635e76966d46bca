/**
 * The actors of bench/facets.ts: one parent Durable Object whose facets are empty Durable Objects (a
 * worker class, or a class loaded from code into a sandbox), and one parent agent whose sub-agents
 * are empty agents. Every figure of a first request is measured inside the parent, around the call
 * that starts the child: the caller's RPC to the parent is not part of it.
 */
import { Agent, DurableObject } from "../../dist/index.js";
import type { WorkerLoader } from "../../dist/sandbox/index.js";

/** The sandboxed code's Durable Object: the same empty class, as a customer would upload it. */
export const LOADED_SOURCE = `
import { DurableObject } from "cloudflare:workers";
export class App extends DurableObject {
  ping() { return 1; }
}
`;

/** An empty facet: its first request creates its file (schema, identity); `ping` touches no storage. */
export class BenchTenant extends DurableObject {
  ping(): number {
    return 1;
  }
}

/** The one parent of every facet. */
export class BenchParent extends DurableObject<{ LOADER: WorkerLoader }> {
  /** Starts the facet `name` (class BenchTenants) with its first request; the milliseconds that took. */
  async open(name: string): Promise<number> {
    const start = performance.now();
    await this.ctx.facets.get<BenchTenant>(name, () => ({ class: this.ctx.exports.BenchTenants, id: name })).ping();
    return performance.now() - start;
  }

  /** The same for a facet running code loaded through `env.LOADER` (each facet a sandbox of its own). */
  async openLoaded(name: string, workerId: string): Promise<number> {
    const start = performance.now();
    const facet = this.ctx.facets.get<BenchTenant>(name, () => {
      const worker = this.env.LOADER.get(workerId, () => ({ mainModule: "app.js", modules: { "app.js": LOADED_SOURCE } }));
      return { class: worker.getDurableObjectClass("App"), id: name };
    });
    await facet.ping();
    return performance.now() - start;
  }

  ping(): number {
    return 1;
  }
}

/** An empty sub-agent. */
export class BenchChild extends Agent {
  ping(): number {
    return 1;
  }
}

/** The one parent of every sub-agent. */
export class BenchInbox extends Agent {
  /** Creates (and starts) the sub-agent `name` with its first request; the milliseconds that took. */
  async open(name: string): Promise<number> {
    const start = performance.now();
    await (await this.subAgent(BenchChild, name)).ping();
    return performance.now() - start;
  }

  /** `listSubAgents()`: how many, and the milliseconds it took. */
  listed(): { count: number; ms: number } {
    const start = performance.now();
    const count = this.listSubAgents().length;
    return { count, ms: performance.now() - start };
  }

  ping(): number {
    return 1;
  }
}

/** The host options that register these classes. */
export const facetBenchClasses = {
  agents: { BenchInbox, BenchChild },
  durableObjects: { BenchParents: BenchParent, BenchTenants: BenchTenant },
};
